; Row-wise kernels over an R x C float32 matrix (C <= 8192), rows shared out over the grid:
; program p takes rows p, p + G, p + 2G, ... Each row is loaded by DMA into one of two SRAM
; buffers while the previous one is computed (double buffering, tags 0/1).
;   softmax:   y[r] = exp(x[r] - max(x[r])) / sum(...)
;   layernorm: y[r] = (x[r] - mean) * rsqrt(var + eps) * gamma + beta  (biased variance)
; SRAM: X0 0, X1 32768, T 65536 (temporary row), G 98304 (gamma), B 131072 (beta),
; S 163840 (scalars).

.kernel softmax
.arg x ptr
.arg y ptr
.arg rows i64
.arg cols i64
.sram 163904
    ldarg r1, x
    ldarg r2, y
    ldarg r3, rows
    ldarg r4, cols
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    shli  r7, r4, 2             ; row bytes
    li    r20, 65536            ; T
    li    r21, 163840           ; S
    li    r22, 1
    bgeu  r5, r3, sm_done
    mul   r8, r5, r7            ; prefetch the first row into buffer 0
    add   r8, r1, r8
    dma.ld r0, r8, r7, 0
    li    r9, 0                 ; current buffer
sm_row:
    add   r10, r5, r6           ; next row
    bgeu  r10, r3, sm_nopf
    mul   r8, r10, r7
    add   r8, r1, r8
    xori  r11, r9, 1
    shli  r12, r11, 15
    bne   r11, r0, sm_pf1
    dma.ld r12, r8, r7, 0
    jmp   sm_nopf
sm_pf1:
    dma.ld r12, r8, r7, 1
sm_nopf:
    shli  r12, r9, 15           ; X = current buffer
    bne   r9, r0, sm_w1
    dma.wait 0
    jmp   sm_go
sm_w1:
    dma.wait 1
sm_go:
    vredmax.f32 r21, r12, r22, r4   ; m
    lwu   r13, 0(r21)
    vbcast.i32 r20, r13, r4
    vsub.f32 r12, r12, r20, r4
    vexp.f32 r12, r12, r4
    vredsum.f32 r21, r12, r22, r4   ; s
    vrecip.f32 r21, r21, r22        ; 1 / s
    lwu   r13, 0(r21)
    vbcast.i32 r20, r13, r4
    vmul.f32 r12, r12, r20, r4
    mul   r8, r5, r7
    add   r8, r2, r8
    dma.st r8, r12, r7, 2
    dma.wait 2                  ; the buffer is reused two rows later
    add   r5, r10, r0
    xori  r9, r9, 1
    bltu  r5, r3, sm_row
sm_done:
    halt

.kernel layernorm
.arg x ptr
.arg y ptr
.arg gamma ptr
.arg beta ptr
.arg rows i64
.arg cols i64
.arg inv_cols f32
.arg eps f32
.sram 163904
    ldarg r1, x
    ldarg r2, y
    ldarg r3, rows
    ldarg r4, cols
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    shli  r7, r4, 2
    li    r20, 65536            ; T
    li    r21, 163840           ; S: s at +0, 1/C at +4, eps at +8
    li    r22, 1
    bgeu  r5, r3, ln_done
    ldarg r8, gamma
    li    r12, 98304
    dma.ld r12, r8, r7, 3
    ldarg r8, beta
    li    r12, 131072
    dma.ld r12, r8, r7, 3
    ldarg r13, inv_cols
    sw    r13, 4(r21)
    ldarg r13, eps
    sw    r13, 8(r21)
    addi  r23, r21, 4
    addi  r24, r21, 8
    li    r25, 98304
    li    r26, 131072
    dma.wait 3
    mul   r8, r5, r7
    add   r8, r1, r8
    dma.ld r0, r8, r7, 0
    li    r9, 0
ln_row:
    add   r10, r5, r6
    bgeu  r10, r3, ln_nopf
    mul   r8, r10, r7
    add   r8, r1, r8
    xori  r11, r9, 1
    shli  r12, r11, 15
    bne   r11, r0, ln_pf1
    dma.ld r12, r8, r7, 0
    jmp   ln_nopf
ln_pf1:
    dma.ld r12, r8, r7, 1
ln_nopf:
    shli  r12, r9, 15
    bne   r9, r0, ln_w1
    dma.wait 0
    jmp   ln_go
ln_w1:
    dma.wait 1
ln_go:
    vredsum.f32 r21, r12, r22, r4   ; sum
    vmul.f32 r21, r21, r23, r22     ; mean = sum * (1/C)
    lwu   r13, 0(r21)
    vbcast.i32 r20, r13, r4
    vsub.f32 r12, r12, r20, r4      ; x - mean
    vmul.f32 r20, r12, r12, r4
    vredsum.f32 r21, r20, r22, r4
    vmul.f32 r21, r21, r23, r22     ; var
    vadd.f32 r21, r21, r24, r22     ; var + eps
    vrsqrt.f32 r21, r21, r22
    lwu   r13, 0(r21)
    vbcast.i32 r20, r13, r4
    vmul.f32 r12, r12, r20, r4
    vmul.f32 r12, r12, r25, r4      ; * gamma
    vadd.f32 r12, r12, r26, r4      ; + beta
    mul   r8, r5, r7
    add   r8, r2, r8
    dma.st r8, r12, r7, 2
    dma.wait 2
    add   r5, r10, r0
    xori  r9, r9, 1
    bltu  r5, r3, ln_row
ln_done:
    halt
