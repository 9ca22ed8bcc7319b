#ifndef DYCONV_CNCURSESW_SHIM_H
#define DYCONV_CNCURSESW_SHIM_H
// SwiftPM drops pkg-config -D flags: wide-character API (cchar_t, setcchar) needs this.
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncurses.h>

// Macros Swift cannot import, exposed as functions.
static inline attr_t dyconv_a_bold(void) { return A_BOLD; }
static inline attr_t dyconv_a_reverse(void) { return A_REVERSE; }
static inline attr_t dyconv_a_dim(void) { return A_DIM; }
static inline attr_t dyconv_a_underline(void) { return A_UNDERLINE; }
static inline attr_t dyconv_a_normal(void) { return A_NORMAL; }
static inline int dyconv_key_resize(void) { return KEY_RESIZE; }
static inline int dyconv_key_mouse(void) { return KEY_MOUSE; }

// terminfo without opening the screen (term.h's capability macros stay out of Swift's view).
int setupterm(const char *term, int filedes, int *errret);
// 1 when TERM's terminfo entry has string capability `name` (tigetstr: NULL absent, -1 not a string).
static inline int dyconv_has_string_capability(const char *name) {
    const char *s = tigetstr(name);
    return s != NULL && s != (const char *)-1;
}
// Opens the screen as terminal type `name` on stdout/stdin (newterm), returning stdscr or
// NULL: Swift 6 refuses the C globals stdout, stdin and stdscr.
static inline WINDOW *dyconv_newterm(const char *name) {
    return newterm(name, stdout, stdin) != NULL ? stdscr : NULL;
}
#endif
