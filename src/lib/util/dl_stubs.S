/* util/dl_stubs.S — libcurl and libarchive, loaded on first use (x86-64 ELF).
 *
 * Loading those two libraries pulls in some thirty more (TLS, HTTP/2, LDAP, SSH, IDN, XML,
 * compressors) and their relocations: ~19 ms before `servin` could do anything, while most
 * commands (run, ps, stop, exec...) never call them. So `servin` is not linked against them:
 * each function of util/dl_symbols.h is defined here as a stub that jumps through its slot of
 * servin_dl_ptrs, and while the slot is empty calls servin_dl_resolve (dl_lazy.c), which dlopens
 * the library, looks the function up and fills the slot. Callers are unchanged: they include
 * <curl/curl.h> and <archive.h> and call the functions by name. The slow path saves every
 * argument register (integer, vector, and %al for variadic calls such as curl_easy_setopt)
 * around the lookup and then jumps to the real function with the caller's arguments intact. */
#if defined(__x86_64__) && defined(__ELF__)

    .macro DL_STUB name
    .text
    .globl \name
    .hidden \name
    .type \name, @function
    .p2align 4
\name:
    movq servin_dl_ptrs+8*\@(%rip), %r11
    testq %r11, %r11
    jz 1f
    jmp *%r11
1:
    movl $\@, %r11d
    jmp servin_dl_slow
    .size \name, . - \name
    .endm

/* \@ counts the macro expansions: the stubs are numbered in the order of dl_symbols.h, as the
 * C side's table is. */
#define DL_SYM(lib, name) DL_STUB name;
#include "util/dl_symbols.h"

    .text
    .p2align 4
    .type servin_dl_slow, @function
servin_dl_slow:
    pushq %rbp
    movq %rsp, %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %r8
    pushq %r9
    pushq %rax
    subq $136, %rsp /* eight vector registers, and the stack 16-byte aligned for the call */
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
    movl %r11d, %edi
    call servin_dl_resolve
    movq %rax, %r11
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
    addq $136, %rsp
    popq %rax
    popq %r9
    popq %r8
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    jmp *%r11
    .size servin_dl_slow, . - servin_dl_slow

#endif
    .section .note.GNU-stack, "", @progbits
