# Where application processors start. A STARTUP IPI makes an AP begin in
# 16-bit real mode at physical address TRAMPOLINE_BASE; this code takes it
# through 32-bit protected mode into 64-bit long mode on the kernel's own page
# table, then calls the Rust entry point with its core index.
#
# `smp.rs` copies these bytes to TRAMPOLINE_BASE (a free page below 1 MiB,
# identity-mapped while APs start) and fills in the four parameters at the end
# for each AP in turn. Every address is written relative to the start label,
# because the code runs from its copy, not from where it was linked.

.section .text.ap_trampoline, "ax"
.global ap_trampoline_start
.global ap_trampoline_end
.global ap_tramp_params

.code16
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    lgdtl (TRAMPOLINE_BASE + ap_tramp_gdtr - ap_trampoline_start)
    movl %cr0, %eax
    orl $1, %eax                       # CR0.PE: protected mode
    movl %eax, %cr0
    ljmpl $0x08, $(TRAMPOLINE_BASE + ap_tramp_pm32 - ap_trampoline_start)

.code32
ap_tramp_pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax                # CR4.PAE
    movl %eax, %cr4
    movl (TRAMPOLINE_BASE + ap_tramp_cr3 - ap_trampoline_start), %eax
    movl %eax, %cr3                    # the kernel's top-level page table
    movl $0xc0000080, %ecx             # IA32_EFER
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax  # LME: long mode; NXE: the kernel's tables use NX
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax # CR0.PG: paging on; CR0.WP
    movl %eax, %cr0
    ljmpl $0x18, $(TRAMPOLINE_BASE + ap_tramp_long - ap_trampoline_start)

.code64
ap_tramp_long:
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq (TRAMPOLINE_BASE + ap_tramp_stack - ap_trampoline_start), %rsp
    movq (TRAMPOLINE_BASE + ap_tramp_arg - ap_trampoline_start), %rdi
    movq (TRAMPOLINE_BASE + ap_tramp_entry - ap_trampoline_start), %rax
    xorl %ebp, %ebp
    callq *%rax                        # never returns
    ud2

.balign 8
ap_tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff           # 0x08: 32-bit code
    .quad 0x00cf92000000ffff           # 0x10: data
    .quad 0x00af9a000000ffff           # 0x18: 64-bit code
ap_tramp_gdtr:
    .word ap_tramp_gdtr - ap_tramp_gdt - 1
    .long TRAMPOLINE_BASE + ap_tramp_gdt - ap_trampoline_start

.balign 8
ap_tramp_params:
ap_tramp_cr3:   .quad 0
ap_tramp_stack: .quad 0
ap_tramp_entry: .quad 0
ap_tramp_arg:   .quad 0
ap_trampoline_end:
