#!/usr/bin/env bash
# Builds the libFuzzer targets with swiftc directly (SwiftPM has no fuzzer products):
#   .build-fuzz/fuzz-checkpoint   safetensors → checkpoint → Model → forward + trace
#   .build-fuzz/fuzz-idx          raw or gzip bytes → IDX reader → dataset
#   .build-fuzz/fuzz-torch        .pth (zip + restricted unpickler) or safetensors → state_dict
#   .build-fuzz/fuzz-image        PNG (libpng), JPEG (libjpeg-turbo), PPM/PGM → DecodedImage → fit
#   .build-fuzz/fuzz-cifar        CIFAR-10/100 batches → reader, `--data` discovery, fit → dataset
# Each library target is compiled once into a static library with coverage (-sanitize=fuzzer)
# and AddressSanitizer, then linked with its entry point and the harness the regression tests
# share (Tests/*/…FuzzInput.swift), so CI replays the committed inputs through the same code.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
OUT=.build-fuzz
mkdir -p "$OUT"
# -O keeps every bounds and overflow check (only -Ounchecked drops them) and is what makes
# a forward pass fast enough for a million executions.
SAN=(-sanitize=fuzzer,address -O -g -package-name dyconv)

# gold warns once per ASan symbol when linking a fuzzer; pipefail keeps swiftc's status.
quiet() { grep -v "Cannot export local symbol" || true; }

# Rebuild a library only when one of its sources is newer than it.
stale() { local lib=$1; shift; [ ! -f "$lib" ] || [ -n "$(find "$@" -newer "$lib" -name '*.swift' | head -1)" ]; }

if stale "$OUT/libDyConvEngine.a" Sources/DyConvEngine; then
  echo "fuzz: building DyConvEngine (instrumented)"
  swiftc "${SAN[@]}" -parse-as-library -module-name DyConvEngine -emit-library -static \
    -emit-module -emit-module-path "$OUT/DyConvEngine.swiftmodule" \
    -I Sources/CBLAS -o "$OUT/libDyConvEngine.a" $(find Sources/DyConvEngine -name '*.swift' | sort)
fi
# The C wrappers of libpng and libjpeg-turbo, instrumented like the Swift code (the Debian
# libraries themselves are not: ASan still sees every byte they write through memcpy/memset
# into buffers the wrappers and Swift allocate, and their mallocs count against the limits).
CODECS=Sources/CImageCodecs
if [ ! -f "$OUT/libCImageCodecs.a" ] || [ -n "$(find "$CODECS" -newer "$OUT/libCImageCodecs.a" -name '*.[ch]' | head -1)" ]; then
  echo "fuzz: building CImageCodecs (instrumented)"
  for c in "$CODECS"/*.c; do
    clang -fsanitize=fuzzer-no-link,address -O1 -g -I "$CODECS/include" -I /usr/include/libpng16 \
      -c "$c" -o "$OUT/codecs-$(basename "$c" .c).o"
  done
  rm -f "$OUT/libCImageCodecs.a"
  ar rcs "$OUT/libCImageCodecs.a" "$OUT"/codecs-*.o
fi
if stale "$OUT/libDyConvData.a" Sources/DyConvData "$OUT/libDyConvEngine.a" "$OUT/libCImageCodecs.a"; then
  echo "fuzz: building DyConvData (instrumented)"
  swiftc "${SAN[@]}" -parse-as-library -module-name DyConvData -emit-library -static \
    -emit-module -emit-module-path "$OUT/DyConvData.swiftmodule" \
    -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$CODECS/include" -o "$OUT/libDyConvData.a" $(find Sources/DyConvData -name '*.swift' | sort)
fi
# What a binary linking DyConvData needs besides it: the image codecs and their libraries.
DATA_LIBS=(-lDyConvData -lCImageCodecs -lpng16 -ljpeg)

# ZIPFoundation (the zip layer of DyConvTorch), from SwiftPM's checkout; its CZlib module map
# is the Linux zlib shim. Instrumented like the rest: its parsing is reached by the inputs.
ZIPF=.build/checkouts/ZIPFoundation/Sources
[ -d "$ZIPF/ZIPFoundation" ] || swift package resolve
if stale "$OUT/libZIPFoundation.a" "$ZIPF"; then
  echo "fuzz: building ZIPFoundation (instrumented)"
  swiftc "${SAN[@]}" -parse-as-library -module-name ZIPFoundation -emit-library -static \
    -emit-module -emit-module-path "$OUT/ZIPFoundation.swiftmodule" -Xcc -D_GNU_SOURCE=1 \
    -I "$ZIPF/CZLib" -o "$OUT/libZIPFoundation.a" $(find "$ZIPF/ZIPFoundation" -name '*.swift' | sort) 2>&1 | quiet
fi
if stale "$OUT/libDyConvTorch.a" Sources/DyConvTorch "$OUT/libDyConvEngine.a" "$OUT/libZIPFoundation.a"; then
  echo "fuzz: building DyConvTorch (instrumented)"
  swiftc "${SAN[@]}" -parse-as-library -module-name DyConvTorch -emit-library -static \
    -emit-module -emit-module-path "$OUT/DyConvTorch.swiftmodule" \
    -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$ZIPF/CZLib" -o "$OUT/libDyConvTorch.a" \
    $(find Sources/DyConvTorch -name '*.swift' | sort)
fi

echo "fuzz: linking fuzz-checkpoint"
swiftc "${SAN[@]}" -parse-as-library -module-name FuzzCheckpoint -I "$OUT" -I Sources/CBLAS \
  Fuzz/checkpoint/Entry.swift Tests/DyConvEngineTests/CheckpointFuzzInput.swift \
  -L "$OUT" -lDyConvEngine -lopenblas -o "$OUT/fuzz-checkpoint" 2>&1 | quiet

echo "fuzz: linking fuzz-idx"
swiftc "${SAN[@]}" -parse-as-library -module-name FuzzIDX -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$CODECS/include" \
  Fuzz/idx/Entry.swift Tests/DyConvDataTests/IDXFuzzInput.swift \
  Tests/DyConvTestSupport/Gzip+Compress.swift Tests/DyConvTestSupport/IDXFile+Encoding.swift \
  -L "$OUT" "${DATA_LIBS[@]}" -lDyConvEngine -lopenblas -lz -o "$OUT/fuzz-idx" 2>&1 | quiet

echo "fuzz: linking fuzz-image"
swiftc "${SAN[@]}" -parse-as-library -module-name FuzzImage -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$CODECS/include" \
  Fuzz/image/Entry.swift Tests/DyConvDataTests/ImageFuzzInput.swift \
  -L "$OUT" "${DATA_LIBS[@]}" -lDyConvEngine -lopenblas -lz -o "$OUT/fuzz-image" 2>&1 | quiet

echo "fuzz: linking fuzz-cifar"
swiftc "${SAN[@]}" -parse-as-library -module-name FuzzCIFAR -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$CODECS/include" \
  Fuzz/cifar/Entry.swift Tests/DyConvDataTests/CIFARFuzzInput.swift \
  -L "$OUT" "${DATA_LIBS[@]}" -lDyConvEngine -lopenblas -lz -o "$OUT/fuzz-cifar" 2>&1 | quiet

echo "fuzz: linking fuzz-torch"
swiftc "${SAN[@]}" -parse-as-library -module-name FuzzTorch -I "$OUT" -I Sources/CBLAS -I Sources/CZlib -I "$ZIPF/CZLib" \
  Fuzz/torch/Entry.swift Tests/DyConvTorchTests/TorchFuzzInput.swift \
  -L "$OUT" -lDyConvTorch -lZIPFoundation -lDyConvEngine -lopenblas -lz -o "$OUT/fuzz-torch" 2>&1 | quiet
