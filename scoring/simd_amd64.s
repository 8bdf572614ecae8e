#include "textflag.h"
#include "go_asm.h"

// AVX2 kernels. Each computes exactly what its Go counterpart (same name
// with Go in place of AVX2) computes: the same IEEE operations in the same
// order, each rounded, no fused multiply-add. Every routine ends with
// VZEROUPPER, and no legacy-SSE instruction runs in between (mixing them
// stalls).

// GAP4 computes, for 4 children at byte offset off of the wide node in DI,
// ((gx*gx + gy*gy) + gz*gz) into Y3, gk = max(lo_k - hk, lk - hi_k, 0),
// with the lower corner of what is tested broadcast in lx, ly, lz and the
// upper one in hx, hy, hz (for a point q, both are q); Y14 is zero, Y4 and
// Y5 are scratch. lo[k] starts at byte 64*k, hi[k] at 192 + 64*k.
#define GAP4(off, lx, ly, lz, hx, hy, hz) \
	VMOVUPD off+0(DI), Y3      \
	VSUBPD hx, Y3, Y3          \
	VSUBPD off+192(DI), lx, Y4 \
	VMAXPD Y4, Y3, Y3          \
	VMAXPD Y14, Y3, Y3         \
	VMULPD Y3, Y3, Y3          \
	VMOVUPD off+64(DI), Y5     \
	VSUBPD hy, Y5, Y5          \
	VSUBPD off+256(DI), ly, Y4 \
	VMAXPD Y4, Y5, Y5          \
	VMAXPD Y14, Y5, Y5         \
	VMULPD Y5, Y5, Y5          \
	VADDPD Y5, Y3, Y3          \
	VMOVUPD off+128(DI), Y5    \
	VSUBPD hz, Y5, Y5          \
	VSUBPD off+320(DI), lz, Y4 \
	VMAXPD Y4, Y5, Y5          \
	VMAXPD Y14, Y5, Y5         \
	VMULPD Y5, Y5, Y5          \
	VADDPD Y5, Y3, Y3

// GAPS4 is GAP4 for the point q broadcast in Y0-Y2.
#define GAPS4(off) GAP4(off, Y0, Y1, Y2, Y0, Y1, Y2)

// func childGapsAVX2(q *[3]float64, w *wideNode, bound2 float64, gaps *[8]float64) uint8
TEXT ·childGapsAVX2(SB), NOSPLIT, $0-33
	MOVQ q+0(FP), SI
	MOVQ w+8(FP), DI
	VBROADCASTSD bound2+16(FP), Y15
	MOVQ gaps+24(FP), DX
	VBROADCASTSD 0(SI), Y0
	VBROADCASTSD 8(SI), Y1
	VBROADCASTSD 16(SI), Y2
	VXORPD Y14, Y14, Y14
	GAPS4(0)
	VMOVUPD Y3, 0(DX)
	VCMPPD $0x11, Y15, Y3, Y4  // gap2 < bound2
	VMOVMSKPD Y4, AX
	GAPS4(32)
	VMOVUPD Y3, 32(DX)
	VCMPPD $0x11, Y15, Y3, Y4
	VMOVMSKPD Y4, BX
	SHLQ $4, BX
	ORQ  BX, AX
	MOVB AX, ret+32(FP)
	VZEROUPPER
	RET

// func searchBottomAVX2(q *[3]float64, w *wideNode, blocks *float64, bound2 float64) (float64, int)
TEXT ·searchBottomAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ blocks+16(FP), R8
	VMOVSD bound2+24(FP), X15  // best so far
	VBROADCASTSD X15, Y13
	VBROADCASTSD 0(SI), Y0
	VBROADCASTSD 8(SI), Y1
	VBROADCASTSD 16(SI), Y2
	VXORPD Y14, Y14, Y14
	// The children (blocks) whose box is nearer than bound2.
	GAPS4(0)
	VCMPPD $0x11, Y13, Y3, Y4
	VMOVMSKPD Y4, AX
	GAPS4(32)
	VCMPPD $0x11, Y13, Y3, Y4
	VMOVMSKPD Y4, BX
	SHLQ $4, BX
	ORQ  BX, AX
	MOVQ $-1, R9               // best slot

next:
	TESTQ AX, AX
	JZ    done
	TZCNTQ AX, CX
	BLSRQ AX, AX
	MOVL wideNode_child(DI)(CX*4), DX // child[c] = ^block
	NOTL DX
	IMUL3Q $192, DX, R10
	LEAQ (R8)(R10*1), R11      // the block: 8 x, 8 y, 8 z
	// Slots 0-3: ((dx*dx + dy*dy) + dz*dz).
	VSUBPD 0(R11), Y0, Y3
	VMULPD Y3, Y3, Y3
	VSUBPD 64(R11), Y1, Y4
	VMULPD Y4, Y4, Y4
	VADDPD Y4, Y3, Y3
	VSUBPD 128(R11), Y2, Y4
	VMULPD Y4, Y4, Y4
	VADDPD Y4, Y3, Y3
	// Slots 4-7.
	VSUBPD 32(R11), Y0, Y5
	VMULPD Y5, Y5, Y5
	VSUBPD 96(R11), Y1, Y6
	VMULPD Y6, Y6, Y6
	VADDPD Y6, Y5, Y5
	VSUBPD 160(R11), Y2, Y6
	VMULPD Y6, Y6, Y6
	VADDPD Y6, Y5, Y5
	// The block's smallest distance (padding slots are +Inf) and its
	// first slot; they replace the best if strictly smaller (no branch).
	VMINPD Y5, Y3, Y6
	VEXTRACTF128 $1, Y6, X7
	VMINPD X7, X6, X6
	VPERMILPD $1, X6, X7
	VMINSD X7, X6, X6
	VBROADCASTSD X6, Y7
	VCMPPD $0, Y7, Y3, Y8
	VCMPPD $0, Y7, Y5, Y9
	VMOVMSKPD Y8, R12
	VMOVMSKPD Y9, BX
	SHLQ $4, BX
	ORQ  BX, R12
	TZCNTQ R12, R12
	LEAQ (R12)(DX*8), R12
	VUCOMISD X15, X6
	CMOVQCS R12, R9            // below the best so far
	VMINSD X15, X6, X15
	JMP  next

done:
	VMOVSD X15, ret+32(FP)
	MOVQ R9, ret1+40(FP)
	VZEROUPPER
	RET

DATA inf<>+0(SB)/8, $0x7ff0000000000000
GLOBL inf<>(SB), RODATA|NOPTR, $8
DATA minus1<>+0(SB)/8, $-1.0
GLOBL minus1<>(SB), RODATA|NOPTR, $8
DATA slots<>+0(SB)/8, $0.0
DATA slots<>+8(SB)/8, $1.0
DATA slots<>+16(SB)/8, $2.0
DATA slots<>+24(SB)/8, $3.0
DATA slots<>+32(SB)/8, $4.0
DATA slots<>+40(SB)/8, $5.0
DATA slots<>+48(SB)/8, $6.0
DATA slots<>+56(SB)/8, $7.0
GLOBL slots<>(SB), RODATA|NOPTR, $64

// GAPBOX4 is GAP4 for a box g, with glo broadcast in Y0-Y2 and ghi in
// Y8-Y10 (BOXSETUP), and Y14 zero.
#define GAPBOX4(off) GAP4(off, Y0, Y1, Y2, Y8, Y9, Y10)

// BOXSETUP broadcasts the box at SI for GAPBOX4 and zeroes Y14.
#define BOXSETUP \
	VBROADCASTSD 0(SI), Y0  \
	VBROADCASTSD 8(SI), Y1  \
	VBROADCASTSD 16(SI), Y2 \
	VBROADCASTSD 24(SI), Y8 \
	VBROADCASTSD 32(SI), Y9 \
	VBROADCASTSD 40(SI), Y10 \
	VXORPD Y14, Y14, Y14

// func gatherAVX2(wide *wideNode, gb *box, r2 float64, out *int32, stack *int32) int
//
// A depth-first walk from the root (children pushed in reverse, so visited
// in order) that writes to out, in increasing order, every block within
// squared distance r2 of box gb, and returns how many. out must have room
// for every block, stack for 8 entries per level.
TEXT ·gatherAVX2(SB), NOSPLIT, $0-48
	MOVQ wide+0(FP), R12
	MOVQ gb+8(FP), SI
	VBROADCASTSD r2+16(FP), Y15
	MOVQ out+24(FP), R8
	MOVQ stack+32(FP), R13
	BOXSETUP
	XORQ R9, R9                // blocks written
	MOVL $0, (R13)             // the root
	MOVQ $1, R10               // stack depth

wnode:
	TESTQ R10, R10
	JZ   wdone
	DECQ R10
	MOVLQSX (R13)(R10*4), AX
	IMUL3Q $wideNode__size, AX, DI
	ADDQ R12, DI
	GAPBOX4(0)
	VCMPPD $0x12, Y15, Y3, Y4  // gap2 <= r2
	VMOVMSKPD Y4, AX
	GAPBOX4(32)
	VCMPPD $0x12, Y15, Y3, Y4
	VMOVMSKPD Y4, BX
	SHLQ $4, BX
	ORQ  BX, AX
	MOVBLZX wideNode_bottom(DI), BX
	TESTQ BX, BX
	JNZ  wblock

// Without branches on the mask (its bits are hard to predict): every
// child is written at the next free place, which then advances by the
// child's mask bit (BT sets the carry, ADC adds it). The places are
// within out's and stack's room: a write goes where the next counted
// entry would.
wpush:
	MOVL wideNode_child+28(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $7, AX
	ADCQ $0, R10
	MOVL wideNode_child+24(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $6, AX
	ADCQ $0, R10
	MOVL wideNode_child+20(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $5, AX
	ADCQ $0, R10
	MOVL wideNode_child+16(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $4, AX
	ADCQ $0, R10
	MOVL wideNode_child+12(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $3, AX
	ADCQ $0, R10
	MOVL wideNode_child+8(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $2, AX
	ADCQ $0, R10
	MOVL wideNode_child+4(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $1, AX
	ADCQ $0, R10
	MOVL wideNode_child+0(DI), BX
	MOVL BX, (R13)(R10*4)
	BTL  $0, AX
	ADCQ $0, R10
	JMP  wnode

wblock:
	MOVL wideNode_child+0(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $0, AX
	ADCQ $0, R9
	MOVL wideNode_child+4(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $1, AX
	ADCQ $0, R9
	MOVL wideNode_child+8(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $2, AX
	ADCQ $0, R9
	MOVL wideNode_child+12(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $3, AX
	ADCQ $0, R9
	MOVL wideNode_child+16(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $4, AX
	ADCQ $0, R9
	MOVL wideNode_child+20(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $5, AX
	ADCQ $0, R9
	MOVL wideNode_child+24(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $6, AX
	ADCQ $0, R9
	MOVL wideNode_child+28(DI), BX
	NOTL BX
	MOVL BX, (R8)(R9*4)
	BTL  $7, AX
	ADCQ $0, R9
	JMP  wnode

wdone:
	MOVQ R9, ret+40(FP)
	VZEROUPPER
	RET

// SCAN4 updates 4 lanes' best distances ybest, and the first slots of their
// blocks yslot, with the points at byte offset off of the block at R11 (its
// first slot broadcast in Y12, as float64): a strictly smaller distance
// replaces.
#define SCAN4(off, ybest, yslot) \
	VSUBPD off+0(R11), Y0, Y3      \
	VMULPD Y3, Y3, Y3              \
	VSUBPD off+64(R11), Y1, Y4     \
	VMULPD Y4, Y4, Y4              \
	VADDPD Y4, Y3, Y3              \
	VSUBPD off+128(R11), Y2, Y4    \
	VMULPD Y4, Y4, Y4              \
	VADDPD Y4, Y3, Y3              \
	VCMPPD $0x11, ybest, Y3, Y4    \
	VMINPD ybest, Y3, ybest        \
	VBLENDVPD Y4, Y12, yslot, yslot

// func searchGroupAVX2(qs *[3]float64, m int, cands *int32, n int, blocks *float64, hits *groupHit)
//
// For each of the m query points, the nearest point of the n candidate
// blocks (in increasing order, so that per lane the first of equals stays):
// per lane the best distance and the first slot of its block; then the
// lowest slot among the lanes holding the smallest distance.
TEXT ·searchGroupAVX2(SB), NOSPLIT, $0-48
	MOVQ qs+0(FP), SI
	MOVQ m+8(FP), CX
	MOVQ cands+16(FP), R12
	MOVQ n+24(FP), R14
	MOVQ blocks+32(FP), R8
	MOVQ hits+40(FP), DX
	VBROADCASTSD inf<>(SB), Y13

gquery:
	TESTQ CX, CX
	JZ    gdone
	VBROADCASTSD 0(SI), Y0
	VBROADCASTSD 8(SI), Y1
	VBROADCASTSD 16(SI), Y2
	VMOVAPD Y13, Y6            // best, lanes 0-3
	VMOVAPD Y13, Y7            // best, lanes 4-7
	VBROADCASTSD minus1<>(SB), Y8 // first slot of its block, lanes 0-3
	VMOVAPD Y8, Y9             // lanes 4-7
	XORQ R10, R10              // candidate

gblock:
	CMPQ R10, R14
	JGE  greduce
	MOVLQSX (R12)(R10*4), BX   // block number
	INCQ R10
	IMUL3Q $192, BX, R11
	ADDQ R8, R11
	SHLQ $3, BX                // its first slot
	VCVTSI2SDQ BX, X12, X12
	VBROADCASTSD X12, Y12
	SCAN4(0, Y6, Y8)
	SCAN4(32, Y7, Y9)
	JMP  gblock

greduce:
	// The smallest distance, then the lowest slot holding it.
	VADDPD slots<>+0(SB), Y8, Y8
	VADDPD slots<>+32(SB), Y9, Y9
	VMINPD Y7, Y6, Y3
	VEXTRACTF128 $1, Y3, X4
	VMINPD X4, X3, X3
	VPERMILPD $1, X3, X4
	VMINSD X4, X3, X3
	VBROADCASTSD X3, Y10
	VCMPPD $0, Y10, Y6, Y4
	VBLENDVPD Y4, Y8, Y13, Y5
	VCMPPD $0, Y10, Y7, Y4
	VBLENDVPD Y4, Y9, Y13, Y11
	VMINPD Y11, Y5, Y5
	VEXTRACTF128 $1, Y5, X11
	VMINPD X11, X5, X5
	VPERMILPD $1, X5, X11
	VMINSD X11, X5, X5
	VCVTTSD2SIQ X5, R9
	VMOVSD X3, 0(DX)
	MOVQ R9, 8(DX)
	ADDQ $24, SI
	ADDQ $16, DX
	DECQ CX
	JMP  gquery

gdone:
	VZEROUPPER
	RET

DATA inf32f<>+0(SB)/4, $0x7f800000
GLOBL inf32f<>(SB), RODATA|NOPTR, $4
DATA one32<>+0(SB)/4, $1
GLOBL one32<>(SB), RODATA|NOPTR, $4

// HMIN8 sets every float32 lane of y to the smallest of its 8 lanes (t is
// scratch).
#define HMIN8(y, t) \
	VPERM2F128 $1, y, y, t \
	VMINPS t, y, y         \
	VPERMILPS $0x4e, y, t  \
	VMINPS t, y, y         \
	VPERMILPS $0xb1, y, t  \
	VMINPS t, y, y

// func searchGroupF32AVX2(qs *[3]float64, m int, cands *int32, n int, blocks32 *float32, blocks *float64, margin float64, hits *groupHit)
//
// The float32 filter of searchGroupAVX2: for each of the m query points
// (rounded to float32), the squared float32 distances to the 8 points of
// each of the n candidate blocks, one block per vector, computed as
// ((dx*dx + dy*dy) + dz*dz) with each step rounded (no fused multiply-add).
// Per lane it keeps the smallest and second-smallest distance and the
// candidate of the smallest. When exactly one lane holds the overall
// smallest and every other distance exceeds it by more than margin (the
// difference taken in float64), hits[i] is that point's slot (block·8 +
// lane) and its squared distance as sqDist computes it (from the float64
// blocks); otherwise the slot is -2.
TEXT ·searchGroupF32AVX2(SB), NOSPLIT, $32-64
	MOVQ qs+0(FP), SI
	MOVQ m+8(FP), CX
	MOVQ cands+16(FP), R12
	MOVQ n+24(FP), R14
	MOVQ blocks32+32(FP), R8
	MOVQ blocks+40(FP), R9
	VMOVSD margin+48(FP), X15
	MOVQ hits+56(FP), DX
	VBROADCASTSS inf32f<>(SB), Y13
	VPBROADCASTD one32<>(SB), Y10

fquery:
	TESTQ CX, CX
	JZ    fdone
	VCVTSD2SS 0(SI), X0, X0
	VBROADCASTSS X0, Y0
	VCVTSD2SS 8(SI), X1, X1
	VBROADCASTSS X1, Y1
	VCVTSD2SS 16(SI), X2, X2
	VBROADCASTSS X2, Y2
	VMOVAPS Y13, Y6            // smallest per lane
	VMOVAPS Y13, Y7            // second-smallest per lane
	VPXOR Y8, Y8, Y8           // candidate index of the smallest
	VPXOR Y9, Y9, Y9           // this candidate's index
	XORQ R10, R10

fblock:
	CMPQ R10, R14
	JGE  freduce
	MOVLQSX (R12)(R10*4), BX
	INCQ R10
	IMUL3Q $96, BX, R11        // 24 float32 a block
	ADDQ R8, R11
	VSUBPS 0(R11), Y0, Y3
	VMULPS Y3, Y3, Y3
	VSUBPS 32(R11), Y1, Y4
	VMULPS Y4, Y4, Y4
	VADDPS Y4, Y3, Y3
	VSUBPS 64(R11), Y2, Y4
	VMULPS Y4, Y4, Y4
	VADDPS Y4, Y3, Y3          // d
	VMAXPS Y6, Y3, Y4          // max(d, smallest)
	VMINPS Y4, Y7, Y7          // second = min(second, max(d, smallest))
	VCMPPS $0x11, Y6, Y3, Y5   // d < smallest
	VMINPS Y6, Y3, Y6
	VBLENDVPS Y5, Y9, Y8, Y8
	VPADDD Y10, Y9, Y9
	JMP  fblock

freduce:
	VMOVAPS Y6, Y3
	HMIN8(Y3, Y4)              // the smallest, in every lane
	VCMPPS $0, Y3, Y6, Y4      // lanes holding it
	VMOVMSKPS Y4, AX
	POPCNTL AX, BX
	CMPL BX, $1
	JNE  ffail                 // a tie in float32
	TZCNTL AX, AX              // its lane
	VBLENDVPS Y4, Y7, Y6, Y5   // its lane's second, the others' smallest
	HMIN8(Y5, Y11)             // the smallest rival
	VCVTSS2SD X5, X5, X5
	VCVTSS2SD X3, X3, X3
	VSUBSD X3, X5, X5
	VUCOMISD X15, X5
	JLS  ffail                 // not more than margin apart (or NaN)
	VMOVDQU Y8, 0(SP)
	MOVLQSX (SP)(AX*4), BX     // the candidate
	MOVLQSX (R12)(BX*4), BX    // its block
	IMUL3Q $192, BX, R11
	ADDQ R9, R11
	LEAQ (R11)(AX*8), R11      // its x; y and z 64 and 128 bytes on
	SHLQ $3, BX
	ADDQ AX, BX
	MOVQ BX, 8(DX)
	// ((dx*dx + dy*dy) + dz*dz) in float64, as sqDist.
	VMOVSD 0(SI), X6
	VSUBSD 0(R11), X6, X6
	VMULSD X6, X6, X6
	VMOVSD 8(SI), X7
	VSUBSD 64(R11), X7, X7
	VMULSD X7, X7, X7
	VADDSD X7, X6, X6
	VMOVSD 16(SI), X7
	VSUBSD 128(R11), X7, X7
	VMULSD X7, X7, X7
	VADDSD X7, X6, X6
	VMOVSD X6, 0(DX)
	JMP  fnext

ffail:
	MOVQ $-2, 8(DX)

fnext:
	ADDQ $24, SI
	ADDQ $16, DX
	DECQ CX
	JMP  fquery

fdone:
	VZEROUPPER
	RET

// func minGap2AVX2(gb *box, bs *boxes8, n int) float64
// The least ((gx*gx + gy*gy) + gz*gz) from box gb to the n*8 boxes at bs
// (GAPBOX4 four at a time, as the gather measures children): minGap2Go's
// value.
TEXT ·minGap2AVX2(SB), NOSPLIT, $0-32
	MOVQ gb+0(FP), SI
	MOVQ bs+8(FP), DI
	MOVQ n+16(FP), CX
	BOXSETUP
	MOVQ $0x7FF0000000000000, AX // +Inf
	MOVQ AX, X13
	VBROADCASTSD X13, Y13        // the least so far
mgloop:
	TESTQ CX, CX
	JZ   mgdone
	GAPBOX4(0)
	VMINPD Y3, Y13, Y13
	GAPBOX4(32)
	VMINPD Y3, Y13, Y13
	ADDQ $384, DI
	DECQ CX
	JMP  mgloop
mgdone:
	VEXTRACTF128 $1, Y13, X12
	VMINPD X12, X13, X13
	VPERMILPD $1, X13, X12
	VMINSD X12, X13, X13
	VMOVSD X13, ret+24(FP)
	VZEROUPPER
	RET
