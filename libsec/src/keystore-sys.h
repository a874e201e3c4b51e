/* keystore-sys.h: how keystore-file.c reaches the file system calls.
 *
 * The library calls them directly. The unit test compiles keystore-file.c
 * a second time with -DRV_KEYSTORE_FAULT_INJECTION, which routes every call
 * through rv_ks_fault_NAME() functions that the test defines, so each
 * failing call (open, read, write, fsync, rename, ...) can be provoked and
 * shown to leave the old file in place. Nothing of this is in the library. */
#pragma once

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef RV_KEYSTORE_FAULT_INJECTION
int rv_ks_fault_open(const char *path, int flags, ...);
int rv_ks_fault_mkstemp(char *tmpl);
ssize_t rv_ks_fault_read(int fd, void *buf, size_t len);
ssize_t rv_ks_fault_write(int fd, const void *buf, size_t len);
int rv_ks_fault_fstat(int fd, struct stat *st);
int rv_ks_fault_fsync(int fd);
int rv_ks_fault_close(int fd);
int rv_ks_fault_rename(const char *from, const char *to);
int rv_ks_fault_unlink(const char *path);
#define RV_KS_SYS(name) rv_ks_fault_##name
#else
#define RV_KS_SYS(name) name
#endif
