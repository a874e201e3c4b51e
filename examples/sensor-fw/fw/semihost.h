/* semihost: ARM semihosting (the debugger, here QEMU, does the I/O). */
#pragma once

#include <stdint.h>

/* Write a NUL-terminated string to the host's console. */
void sh_puts(const char *s);
/* Append a signed decimal number to a line buffer; returns the new end. */
char *sh_fmt_int(char *p, int32_t v);
/* Append a string to a line buffer; returns the new end. */
char *sh_fmt_str(char *p, const char *s);
/* End the program: QEMU exits with \p status. */
_Noreturn void sh_exit(int status);
