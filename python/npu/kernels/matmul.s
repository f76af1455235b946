; C[M, N] = A[M, K] x B[K, N] on the matrix unit, one 64 x 64 output tile per program
; instance (the grid covers the tiles; the cores share them out). The K loop double-buffers:
; the 2-D DMAs of the next A and B tiles are in flight (tags 0/1) while mma runs on the
; current ones. Element type `dt`: 0 = f32 -> f32, 5 = bf16 -> f32, 4 = f16 -> f32,
; 3 = i8 -> i32, or (out_i8 != 0) i8 -> i8 requantised with RQ_MULT/RQ_SHIFT/RQ_ZP = mult,
; shift, zp (docs/numerics.md).
.kernel matmul
.arg a ptr
.arg b ptr
.arg c ptr
.arg m i64
.arg n i64
.arg k i64
.arg dt i64
.arg out_i8 i64
.arg mult i64
.arg shift i64
.arg zp i64
.sram 135168                    ; A 2 x 16K, B 2 x 16K, C 16K, out 4K (+ slack)
    ldarg r1, a
    ldarg r2, b
    ldarg r3, c
    ldarg r4, m
    ldarg r5, n
    ldarg r6, k
    ldarg r20, dt
    li    r21, 4                ; r21 = element bytes
    beq   r20, r0, es_done
    li    r21, 1
    li    r22, 3
    beq   r20, r22, es_done
    li    r21, 2
es_done:
    ; tile coordinates: tiles_n = ceil(N / 64); m0 = (pid / tiles_n) * 64, n0 = (pid % tiles_n) * 64
    csrr  r7, PROGRAM_ID
    addi  r22, r5, 63
    shri  r22, r22, 6
    divu  r8, r7, r22
    remu  r9, r7, r22
    shli  r8, r8, 6             ; m0
    shli  r9, r9, 6             ; n0
    bgeu  r8, r4, done          ; a program past the grid's tiles
    sub   r10, r4, r8           ; tm = min(64, M - m0)
    li    r22, 64
    bltu  r10, r22, tm_ok
    li    r10, 64
tm_ok:
    sub   r11, r5, r9           ; tn = min(64, N - n0)
    bltu  r11, r22, tn_ok
    li    r11, 64
tn_ok:
    ; the matrix unit's shape and SRAM strides: A/B tiles are 64 elements wide, C 64 x i32/f32
    csrw  MM_M, r10
    csrw  MM_N, r11
    shli  r22, r21, 6
    csrw  MM_LDA, r22
    csrw  MM_LDB, r22
    li    r22, 256
    csrw  MM_LDC, r22
    ; zero the accumulator tile (SRAM 65536.., 64 x 64 x 4 bytes)
    li    r23, 65536
    li    r22, 4096
    vbcast.i32 r23, r0, r22
    ; device row strides in bytes
    mul   r24, r6, r21          ; A: K * es
    mul   r25, r5, r21          ; B: N * es
    ; base addresses of this tile's rows: a + m0*K*es, b + n0*es
    mul   r26, r8, r24
    add   r26, r1, r26
    mul   r27, r9, r21
    add   r27, r2, r27
    li    r12, 0                ; k0
    li    r13, 0                ; current buffer (0/1)
    jal   r31, load_tiles       ; prefetch k-tile 0 into buffer 0
kloop:
    addi  r14, r12, 64          ; next k0
    bgeu  r14, r6, no_prefetch
    add   r15, r12, r0          ; save k0 / buffer, load the next tiles into the other buffer
    add   r16, r13, r0
    add   r12, r14, r0
    xori  r13, r13, 1
    jal   r31, load_tiles
    add   r12, r15, r0
    add   r13, r16, r0
no_prefetch:
    ; wait for the current buffer's DMAs (tag = buffer)
    bne   r13, r0, wait1
    dma.wait 0
    jmp   waited
wait1:
    dma.wait 1
waited:
    sub   r17, r6, r12          ; tk = min(64, K - k0)
    li    r22, 64
    bltu  r17, r22, tk_ok
    li    r17, 64
tk_ok:
    csrw  MM_K, r17
    shli  r18, r13, 14          ; A tile: buffer * 16384
    li    r19, 32768
    add   r19, r19, r18         ; B tile: 32768 + buffer * 16384
    li    r22, 3
    beq   r20, r22, mm_i8
    li    r22, 5
    beq   r20, r22, mm_bf16
    li    r22, 4
    beq   r20, r22, mm_f16
    mma.f32 r23, r18, r19
    jmp   mm_done
mm_i8:
    mma.i8 r23, r18, r19
    jmp   mm_done
mm_bf16:
    mma.bf16 r23, r18, r19
    jmp   mm_done
mm_f16:
    mma.f16 r23, r18, r19
mm_done:
    add   r12, r14, r0
    xori  r13, r13, 1
    bltu  r12, r6, kloop
    ; write back: 4-byte accumulators, or requantised int8
    ldarg r22, out_i8
    bne   r22, r0, store_i8
    li    r22, 256
    csrw  DMA_SSTRIDE, r22
    shli  r22, r5, 2
    csrw  DMA_DSTRIDE, r22
    mul   r28, r8, r5           ; c + (m0 * N + n0) * 4
    add   r28, r28, r9
    shli  r28, r28, 2
    add   r28, r3, r28
    shli  r29, r11, 2
    dma.st2 r28, r23, r29, r10, 2
    dma.wait 2
    jmp   done
store_i8:
    ldarg r22, mult
    csrw  RQ_MULT, r22
    ldarg r22, shift
    csrw  RQ_SHIFT, r22
    ldarg r22, zp
    csrw  RQ_ZP, r22
    li    r28, 131072
    li    r22, 4096
    vrequant.i8 r28, r23, r22
    li    r22, 64
    csrw  DMA_SSTRIDE, r22
    csrw  DMA_DSTRIDE, r5
    mul   r29, r8, r5           ; c + m0 * N + n0
    add   r29, r29, r9
    add   r29, r3, r29
    dma.st2 r29, r28, r11, r10, 2
    dma.wait 2
done:
    halt

; load_tiles: 2-D DMA of A[m0.., k0..] (tm x tk) and B[k0.., n0..] (tk x tn) into buffer
; r13 with tag r13. Uses r22, r28-r30; returns through r31.
load_tiles:
    sub   r28, r6, r12          ; tk
    li    r22, 64
    bltu  r28, r22, lt_tk
    li    r28, 64
lt_tk:
    csrw  DMA_SSTRIDE, r24      ; A: device rows K * es apart, SRAM rows 64 * es apart
    shli  r22, r21, 6
    csrw  DMA_DSTRIDE, r22
    mul   r29, r12, r21
    add   r29, r26, r29         ; &A[m0][k0]
    shli  r30, r13, 14          ; SRAM A buffer
    mul   r28, r28, r21         ; row bytes: tk * es
    bne   r13, r0, lt_a1
    dma.ld2 r30, r29, r28, r10, 0
    jmp   lt_b
lt_a1:
    dma.ld2 r30, r29, r28, r10, 1
lt_b:
    csrw  DMA_SSTRIDE, r25      ; B: device rows N * es apart
    mul   r29, r12, r25
    add   r29, r27, r29         ; &B[k0][n0]
    li    r30, 32768
    shli  r22, r13, 14
    add   r30, r30, r22         ; SRAM B buffer
    sub   r28, r6, r12          ; rows: tk
    li    r22, 64
    bltu  r28, r22, lt_tk2
    li    r28, 64
lt_tk2:
    mul   r22, r11, r21         ; row bytes: tn * es
    bne   r13, r0, lt_b1
    dma.ld2 r30, r29, r22, r28, 0
    jr    r31
lt_b1:
    dma.ld2 r30, r29, r22, r28, 1
    jr    r31
