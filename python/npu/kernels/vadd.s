; vadd: z[i] = x[i] + y[i] for fp32 vectors of n elements. Each program instance takes one
; contiguous slice and moves it through SRAM in chunks of 4096 elements with DMA.
.kernel vadd
.arg x ptr
.arg y ptr
.arg z ptr
.arg n i64
.sram 49152
    ldarg r1, x
    ldarg r2, y
    ldarg r3, z
    ldarg r4, n
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    add   r7, r4, r6
    addi  r7, r7, -1
    divu  r7, r7, r6          ; slice = ceil(n / programs)
    mul   r8, r5, r7          ; start
    add   r9, r8, r7          ; end
    bltu  r9, r4, clamped
    add   r9, r4, r0
clamped:
    bgeu  r8, r9, done
chunk:
    sub   r10, r9, r8
    li    r11, 4096
    bltu  r10, r11, sized
    add   r10, r11, r0
sized:
    shli  r12, r8, 2
    shli  r13, r10, 2
    add   r14, r1, r12
    li    r20, 0
    dma.ld r20, r14, r13, 0
    add   r14, r2, r12
    li    r21, 16384
    dma.ld r21, r14, r13, 1
    dma.wait 0
    dma.wait 1
    li    r22, 32768
    vadd.f32 r22, r20, r21, r10
    add   r14, r3, r12
    dma.st r14, r22, r13, 2
    dma.wait 2
    add   r8, r8, r10
    bltu  r8, r9, chunk
done:
    halt
