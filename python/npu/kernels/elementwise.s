; Elementwise float32 kernels over an R x C matrix, rows shared out over the grid in blocks
; of up to 16 rows. Each block's 2-D DMAs go into one of two SRAM buffers while the other
; block is computed (double buffering, tags by buffer).
;   gelu:    y = gelu(x)                             (vgelu.f32, the tanh form)
;   add_row: y[r, c] = x[r, c] + b[r * bstride + c]  (bstride 0: b is one row broadcast to
;            every row by a stride-0 DMA; bstride = C: b has x's shape)
; SRAM per buffer: X at buf * 131072, B at buf * 131072 + 65536. C <= 1024.

.kernel gelu
.arg x ptr
.arg y ptr
.arg rows i64
.arg cols i64
.sram 262144
    li    r27, 0
    jmp   ew_start

.kernel add_row
.arg x ptr
.arg y ptr
.arg rows i64
.arg cols i64
.arg b ptr
.arg bstride i64
.sram 262144
    li    r27, 1
ew_start:
    ldarg r1, x
    ldarg r2, y
    ldarg r3, rows
    ldarg r4, cols
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    shli  r7, r4, 2             ; row bytes
    shli  r5, r5, 4             ; first row of my first block: pid * 16
    shli  r6, r6, 4             ; rows between my blocks: G * 16
    bgeu  r5, r3, ew_done
    li    r9, 0                 ; buffer
    add   r10, r5, r0
    jal   r31, ew_load          ; block r10 -> buffer r9
ew_block:
    add   r15, r5, r6           ; next block
    bgeu  r15, r3, ew_nopf
    add   r10, r15, r0
    xori  r9, r9, 1
    jal   r31, ew_load
    xori  r9, r9, 1
ew_nopf:
    bne   r9, r0, ew_w1
    dma.wait 0
    jmp   ew_go
ew_w1:
    dma.wait 1
ew_go:
    sub   r16, r3, r5           ; rows in this block: min(16, R - r0)
    li    r17, 16
    bltu  r16, r17, ew_rows
    li    r16, 16
ew_rows:
    mul   r17, r16, r4          ; elements
    shli  r12, r9, 17           ; X
    li    r13, 65536
    add   r13, r12, r13         ; B
    bne   r27, r0, ew_add
    vgelu.f32 r12, r12, r17
    jmp   ew_store
ew_add:
    vadd.f32 r12, r12, r13, r17
ew_store:
    csrw  DMA_SSTRIDE, r7
    csrw  DMA_DSTRIDE, r7
    mul   r18, r5, r7
    add   r18, r2, r18
    dma.st2 r18, r12, r7, r16, 2
    dma.wait 2
    add   r5, r15, r0
    xori  r9, r9, 1
    bltu  r5, r3, ew_block
ew_done:
    halt

; ew_load: rows [r10, r10 + 16) of x (and of b) into buffer r9, tag r9. Uses r11-r14, r22.
ew_load:
    sub   r11, r3, r10
    li    r22, 16
    bltu  r11, r22, el_rows
    li    r11, 16
el_rows:
    csrw  DMA_SSTRIDE, r7
    csrw  DMA_DSTRIDE, r7
    mul   r12, r10, r7
    add   r12, r1, r12
    shli  r13, r9, 17
    bne   r9, r0, el_x1
    dma.ld2 r13, r12, r7, r11, 0
    jmp   el_b
el_x1:
    dma.ld2 r13, r12, r7, r11, 1
el_b:
    beq   r27, r0, el_ret
    ldarg r14, bstride          ; b rows bstride elements apart (0: broadcast one row)
    shli  r14, r14, 2
    csrw  DMA_SSTRIDE, r14
    mul   r12, r10, r14
    ldarg r22, b
    add   r12, r22, r12
    li    r22, 65536
    add   r13, r13, r22
    bne   r9, r0, el_b1
    dma.ld2 r13, r12, r7, r11, 0
    jr    r31
el_b1:
    dma.ld2 r13, r12, r7, r11, 1
el_ret:
    jr    r31
