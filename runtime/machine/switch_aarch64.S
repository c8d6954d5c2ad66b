// SPDX-License-Identifier: Apache-2.0
/*
 * Context switch for AArch64, AAPCS64.
 *
 * The suspended context is a 176-byte frame on its own stack; MachineContext keeps only the
 * stack pointer, which points at offset 0:
 *
 *   offset   0  x19  x20
 *   offset  16  x21  x22
 *   offset  32  x23  x24
 *   offset  48  x25  x26
 *   offset  64  x27  x28
 *   offset  80  x29 (frame pointer)  x30 (link register: where the context resumes)
 *   offset  96  d8   d9
 *   offset 112  d10  d11
 *   offset 128  d12  d13
 *   offset 144  d14  d15
 *   offset 160  FPCR (rounding mode, flush-to-zero, trap enables)
 *   offset 168  (unused, keeps sp 16-byte aligned)
 *
 * Only the low 64 bits of v8-v15 are callee-saved, hence d8-d15. A fresh context has
 * x19 = entry function, x20 = its argument and x30 = spindle_context_trampoline.
 */
        .text

/* void spindle_context_switch(void** save_sp [x0], void* resume_sp [x1]) */
        .globl  spindle_context_switch
        .type   spindle_context_switch, %function
        .p2align 4
spindle_context_switch:
        .cfi_startproc
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x10, fpcr
        str     x10, [sp, #160]

        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1

        ldr     x9, [sp, #160]
        cmp     x9, x10                 /* writing FPCR can serialise: only when it differs */
        b.eq    1f
        msr     fpcr, x9
1:
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .cfi_endproc
        .size   spindle_context_switch, .-spindle_context_switch

/* First code a fresh context runs: call entry(arg). entry never returns. */
        .globl  spindle_context_trampoline
        .type   spindle_context_trampoline, %function
        .p2align 4
spindle_context_trampoline:
        .cfi_startproc
        .cfi_undefined x30      /* outermost frame: debuggers and unwinders stop here */
        mov     x29, #0
        mov     x0, x20
        blr     x19
        brk     #0
        .cfi_endproc
        .size   spindle_context_trampoline, .-spindle_context_trampoline

        .section .note.GNU-stack,"",%progbits
