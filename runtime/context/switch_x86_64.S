/*
 * Context switch for x86-64, System V ABI.
 *
 * The suspended context is a 64-byte frame on its own stack; MachineContext keeps only the
 * stack pointer, which points at offset 0:
 *
 *   offset  0  MXCSR (4 bytes)      SSE control/status: rounding mode, exception masks
 *   offset  4  x87 control word (2)  precision and rounding of the x87 unit
 *   offset  8  unused (keeps the frame 16-byte aligned)
 *   offset 16  r15
 *   offset 24  r14
 *   offset 32  r13
 *   offset 40  r12
 *   offset 48  rbx
 *   offset 56  rbp
 *   offset 64  return address       where the context resumes
 *
 * Everything else is caller-saved, so the compiler already spilled what it needs before the
 * call. Two choices keep the switch near Boost.Context's cost:
 *   - the control words are restored only when they differ: ldmxcsr and fldcw serialise
 *     the floating-point units (~50 ns here), and the common case is that both contexts run
 *     with the defaults. Only MXCSR's control bits (6-15) are compared and owed to the
 *     resumed context: the ABI makes its status flags (bits 0-5, sticky exception flags that
 *     any inexact division sets) caller-saved, and comparing them made every switch between
 *     a context that had divided and one that had not pay for an ldmxcsr;
 *   - the switch ends with pop + indirect jmp, not ret: the return lands somewhere other than
 *     where the matching call came from, so a ret would mispredict on every switch and leave
 *     the return-stack predictor off by one for the caller's later returns as well. A fresh context (spindle_context_make) is the same frame with r12 = entry function,
 * r13 = its argument and the return address = spindle_context_trampoline.
 */
        .text

/* void spindle_context_switch(void** save_sp [rdi], void* resume_sp [rsi]) */
        .globl  spindle_context_switch
        .type   spindle_context_switch, @function
        .p2align 4
spindle_context_switch:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        subq    $16, %rsp
        .cfi_adjust_cfa_offset 16
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax            /* this thread's control words, to compare below */
        movzwl  4(%rsp), %edx

        movq    %rsp, (%rdi)
        movq    %rsi, %rsp

        xorl    (%rsp), %eax
        testl   $0xFFC0, %eax           /* MXCSR control bits: DAZ, masks, rounding, FZ */
        jz      1f
        ldmxcsr (%rsp)
1:      cmpw    4(%rsp), %dx
        je      2f
        fldcw   4(%rsp)
2:      addq    $16, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        jmpq    *%rcx
        .cfi_endproc
        .size   spindle_context_switch, .-spindle_context_switch

/* First code a fresh context runs: call entry(arg) with an aligned stack. entry never returns. */
        .globl  spindle_context_trampoline
        .type   spindle_context_trampoline, @function
        .p2align 4
spindle_context_trampoline:
        .cfi_startproc
        .cfi_undefined rip      /* outermost frame: debuggers and unwinders stop here */
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   spindle_context_trampoline, .-spindle_context_trampoline

        .section .note.GNU-stack,"",@progbits
