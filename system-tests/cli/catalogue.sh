# Sourced by the CLI test scripts: when CATALOGUE names a file, every bad-input case is appended
# to it as a Markdown table row (case, command, exit code, the one stderr line), so the catalogue
# in docs/RELIABILITY.md is generated from the very cases the tests check
# (`tools/reliability_catalogue.sh` writes it).
#
# catalogue_row NAME RC ERRFILE CMD...
catalogue_row() {
  [ -n "${CATALOGUE:-}" ] || return 0
  local name=$1 rc=$2 errfile=$3; shift 3
  local cmd="" arg
  for arg in "$@"; do
    case "$arg" in
      */dyconv) arg=dyconv ;;
      */dyconv-tui) arg=dyconv-tui ;;
    esac
    cmd+="${cmd:+ }$arg"
  done
  # Temporary folders and the checkout's path say nothing to a reader; cut long argument lists.
  cmd=${cmd//${TMP:-/nonexistent}\//}
  cmd=${cmd//${WORK:-/nonexistent}\//}
  cmd=${cmd//${ROOT:-/nonexistent}\//}
  [ ${#cmd} -gt 140 ] && cmd="${cmd:0:137}..."
  # A process id changes every run (the lock cases name the holder): shown as P.
  local line; line=$(head -n 1 "$errfile" | cut -c1-240 | sed -E 's/pid [0-9]+/pid P/g; s/kill -TERM [0-9]+/kill -TERM P/g')
  line=${line//${TMP:-/nonexistent}\//}
  line=${line//${WORK:-/nonexistent}\//}
  line=${line//${ROOT:-/nonexistent}\//}
  printf '| %s | `%s` | %s | %s |\n' "${name//|/\\|}" "${cmd//|/\\|}" "$rc" "${line//|/\\|}" >> "$CATALOGUE"
}
