// SPDX-License-Identifier: Apache-2.0
/*
 * Context switch for x86-64, System V ABI.
 *
 * The suspended context is a 72-byte frame on its own stack, 128 bytes below the stack
 * pointer its code had (the red zone stays untouched); MachineContext keeps only the frame's
 * address:
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
 *   offset 64  resume address       where the context resumes
 *
 * The first half, which pushes this frame, is inline assembly in machine_context.hpp so that the
 * resume address is a label at each call site: resuming is an indirect jump, and no call/ret
 * pair spans the switch (why that matters: machine_context.hpp). Everything else is caller-saved
 * and declared clobbered there, so the compiler spills what it needs around the switch.
 *
 * The control words are restored in one of two ways, chosen once per process
 * (spindle_context_fp_compare, set in fp_restore.cpp from the CPU vendor):
 *   always   ldmxcsr and fldcw from the resumed frame, as Boost.Context does. On AMD Zen
 *            reading back what stmxcsr / fnstcw just stored stalls the switch, so this
 *            mode never reads them back.
 *   compare  only when they differ from the suspender's, read back from its frame: on
 *            Intel cores the read-back is forwarded from the store, and the loads and the
 *            compare are cheaper than the restores they usually skip.
 * In compare mode only MXCSR's control bits (6-15) are compared and owed to the resumed
 * context: the ABI makes its status flags (bits 0-5, sticky exception flags that any inexact
 * division sets) caller-saved, and comparing them would make every switch between a context
 * that had divided and one that had not pay for an ldmxcsr.
 *
 * A fresh context (context_init) is the same frame with r12 = entry function, r13 = its
 * argument and the resume address = spindle_context_trampoline.
 */
/*
 * Control-flow enforcement (CET). Built with -fcf-protection (the compiler then defines
 * __CET__), every place an indirect jump lands starts with endbr64: here the trampoline, and
 * the resume label context_switch() plants in its caller (machine_context.hpp). The object is then
 * marked IBT-compatible in its GNU property note, so a consumer built with -fcf-protection
 * stays IBT-marked. Shadow stacks are not supported: a switch moves rsp to another fiber's
 * stack without switching the shadow stack, so the note never claims SHSTK, and a process
 * linking spindle runs without shadow stacks (the linker ANDs the marks).
 */
#if defined(__CET__) && (__CET__ & 1)
#define SPINDLE_LANDING_PAD endbr64
#else
#define SPINDLE_LANDING_PAD
#endif

        .text

/*
 * Second half of the switch; context_switch() (machine_context.hpp, inlined at each call site) has
 * pushed the frame of the suspending context and loaded the resumed one's sp.
 * In: rsp = the resumed context's frame, rax = the suspender's frame.
 */
        .globl  spindle_context_resume
        .type   spindle_context_resume, @function
        .p2align 4
spindle_context_resume:
        .cfi_startproc
        .cfi_undefined rip      /* mid-switch: no caller to unwind to */
        cmpb    $0, spindle_context_fp_compare(%rip)
        jne     3f
        ldmxcsr (%rsp)
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
3:      movl    (%rax), %ecx
        xorl    (%rsp), %ecx
        testl   $0xFFC0, %ecx           /* MXCSR control bits: DAZ, masks, rounding, FZ */
        jz      1f
        ldmxcsr (%rsp)
1:      movzwl  4(%rax), %edx
        cmpw    4(%rsp), %dx
        je      2b
        fldcw   4(%rsp)
        jmp     2b
        .cfi_endproc
        .size   spindle_context_resume, .-spindle_context_resume

/* First code a fresh context runs: call entry(arg) with an aligned stack. entry never returns. */
        .globl  spindle_context_trampoline
        .type   spindle_context_trampoline, @function
        .p2align 4
spindle_context_trampoline:
        .cfi_startproc
        .cfi_undefined rip      /* outermost frame: debuggers and unwinders stop here */
        SPINDLE_LANDING_PAD     /* reached by spindle_context_resume's indirect jump */
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   spindle_context_trampoline, .-spindle_context_trampoline

        .section .note.GNU-stack,"",@progbits

#if defined(__CET__) && (__CET__ & 1)
/* NT_GNU_PROPERTY_TYPE_0 note: GNU_PROPERTY_X86_FEATURE_1_AND = IBT (bit 0) only. */
        .section .note.gnu.property,"a"
        .p2align 3
        .long   4               /* name size: "GNU\0" */
        .long   16              /* descriptor size: one property, padded to 8 */
        .long   5               /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .long   0xc0000002      /* GNU_PROPERTY_X86_FEATURE_1_AND */
        .long   4               /* property data size */
        .long   1               /* GNU_PROPERTY_X86_FEATURE_1_IBT */
        .p2align 3
#endif
