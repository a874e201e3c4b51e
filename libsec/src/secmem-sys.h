/* secmem-sys.h: how secmem.c reaches the memory system calls.
 *
 * The library calls them directly. The unit test compiles secmem.c a second
 * time with -DRV_SECMEM_FAULT_INJECTION, which routes every call through
 * rv_secmem_fault_NAME() functions that the test defines, so it can make
 * mmap, mprotect, madvise and mlock fail on demand and prove that each
 * failure is reported (fail closed) and cleaned up. Nothing of this exists
 * in the shipped library. */
#pragma once

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef RV_SECMEM_FAULT_INJECTION
void *rv_secmem_fault_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int rv_secmem_fault_munmap(void *addr, size_t len);
int rv_secmem_fault_mprotect(void *addr, size_t len, int prot);
int rv_secmem_fault_madvise(void *addr, size_t len, int advice);
int rv_secmem_fault_mlock(const void *addr, size_t len);
int rv_secmem_fault_munlock(const void *addr, size_t len);
FILE *rv_secmem_fault_fopen(const char *path, const char *mode);
#define RV_SECMEM_SYS(name) rv_secmem_fault_##name
#else
#define RV_SECMEM_SYS(name) name
#endif
