#include "textflag.h"
#include "go_asm.h"

// AVX-512 kernels: the gather and the tree search's kernels do what the
// AVX2 ones do, 8 lanes at once, with mask registers in place of blends;
// the group search filters in float32, 16 lanes at once. Every routine ends
// with VZEROUPPER.

// GAP8 computes the squared gaps ((gx*gx + gy*gy) + gz*gz), gk = max(lo_k
// - hk, lk - hi_k, 0), of the 8 children of the wide node at DI (lo[k] at
// 64*k, hi[k] at 192 + 64*k) into Z3, with the lower corner of what is
// tested broadcast in lx, ly, lz and the upper one in hx, hy, hz (for a
// point q, both are q); Z14 is zero, Z4 and Z5 are scratch.
#define GAP8(lx, ly, lz, hx, hy, hz) \
	VMOVUPD 0(DI), Z3        \
	VSUBPD hx, Z3, Z3        \
	VSUBPD 192(DI), lx, Z4   \
	VMAXPD Z4, Z3, Z3        \
	VMAXPD Z14, Z3, Z3       \
	VMULPD Z3, Z3, Z3        \
	VMOVUPD 64(DI), Z5       \
	VSUBPD hy, Z5, Z5        \
	VSUBPD 256(DI), ly, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3        \
	VMOVUPD 128(DI), Z5      \
	VSUBPD hz, Z5, Z5        \
	VSUBPD 320(DI), lz, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3

// GAPBOX8 is GAP8 for a box g, with glo broadcast in Z0-Z2 and ghi in
// Z8-Z10; GAPS8 for a point q broadcast in Z0-Z2.
#define GAPBOX8 GAP8(Z0, Z1, Z2, Z8, Z9, Z10)
#define GAPS8 GAP8(Z0, Z1, Z2, Z0, Z1, Z2)

// func gatherAVX512(wide *wideNode, gb *box, r2 float64, out *int32, stack *int32) int
//
// gatherAVX2 with one test for a node's 8 children: a bottom node's near
// blocks written to out by one compress, an upper node pushed on the
// stack with the mask of its near children, which are then visited in
// order (lowest first), one popped bit at a time. The stack holds scalar
// (node address, mask) pairs, so a pop reads what a scalar store wrote
// (no reload of a part of a vector store, which a pushed vector of
// children cost: 10% more time on recorded gathers). out must have room
// for every block and 8 more (the compressed vector is stored whole),
// stack for 4 int32 per level below the root.
TEXT ·gatherAVX512(SB), NOSPLIT, $0-48
	MOVQ wide+0(FP), R12
	MOVQ gb+8(FP), SI
	VBROADCASTSD r2+16(FP), Z15
	MOVQ out+24(FP), R8
	MOVQ stack+32(FP), R13
	VBROADCASTSD 0(SI), Z0
	VBROADCASTSD 8(SI), Z1
	VBROADCASTSD 16(SI), Z2
	VBROADCASTSD 24(SI), Z8
	VBROADCASTSD 32(SI), Z9
	VBROADCASTSD 40(SI), Z10
	VPXORQ Z14, Z14, Z14
	VPTERNLOGD $0xff, Y13, Y13, Y13 // all ones
	XORQ R9, R9                // blocks written
	XORQ R10, R10              // stack bytes: (node address, child mask) pairs
	XORQ AX, AX                // the root

gavisit:
	IMUL3Q $wideNode__size, AX, DI
	ADDQ R12, DI
	GAPBOX8
	VCMPPD $0x12, Z15, Z3, K1  // gap2 <= r2
	KMOVW K1, BX
	CMPB wideNode_bottom(DI), $0
	JNE  gablocks
	TESTQ BX, BX
	JZ   gapop
	MOVQ DI, 0(R13)(R10*1)
	MOVQ BX, 8(R13)(R10*1)
	ADDQ $16, R10
	JMP  gapop

gablocks:
	VMOVDQU32 wideNode_child(DI), Y3
	VPXORD Y13, Y3, Y3         // ^child: the block numbers
	VPCOMPRESSD Y3, K1, Y4
	VMOVDQU32 Y4, (R8)(R9*4)
	POPCNTL BX, BX
	ADDQ BX, R9

gapop:
	TESTQ R10, R10
	JZ   gadone
	MOVQ -8(R13)(R10*1), BX
	TESTQ BX, BX
	JNZ  ganext
	SUBQ $16, R10
	JMP  gapop

ganext:
	MOVQ -16(R13)(R10*1), DI
	TZCNTQ BX, CX
	BLSRQ BX, BX
	MOVQ BX, -8(R13)(R10*1)
	MOVLQSX wideNode_child(DI)(CX*4), AX
	JMP  gavisit

gadone:
	MOVQ R9, ret+40(FP)
	VZEROUPPER
	RET

DATA inf32<>+0(SB)/4, $0x7f800000
GLOBL inf32<>(SB), RODATA|NOPTR, $4
DATA inf64<>+0(SB)/8, $0x7ff0000000000000
GLOBL inf64<>(SB), RODATA|NOPTR, $8
DATA pack8<>+0(SB)/4, $0
DATA pack8<>+4(SB)/4, $4
DATA pack8<>+8(SB)/4, $8
DATA pack8<>+12(SB)/4, $12
DATA pack8<>+16(SB)/4, $16
DATA pack8<>+20(SB)/4, $20
DATA pack8<>+24(SB)/4, $24
DATA pack8<>+28(SB)/4, $28
DATA pack8<>+32(SB)/4, $0
DATA pack8<>+36(SB)/4, $0
DATA pack8<>+40(SB)/4, $0
DATA pack8<>+44(SB)/4, $0
DATA pack8<>+48(SB)/4, $0
DATA pack8<>+52(SB)/4, $0
DATA pack8<>+56(SB)/4, $0
DATA pack8<>+60(SB)/4, $0
GLOBL pack8<>(SB), RODATA|NOPTR, $64

// QPAIR32 matches query point i (float32 coordinates at bytes 4*i, 32 + 4*i
// and 64 + 4*i of SI: the query block's x, y and z)
// with the 16 points in Z0-Z2 (two blocks; their pair number broadcast in
// Z5): lane-wise d = fma(dz, dz, fma(dy, dy, dx*dx)) in float32, dx = x -
// qx (a filter: f32Margin bounds its rounding);
// per lane the two smallest d (zbest <= zsec) and the pair of the
// smallest (zpair).
#define QPAIR32(i, zbest, zsec, zpair) \
	VSUBPS.BCST (4*i)(SI), Z0, Z3    \
	VMULPS Z3, Z3, Z3                \
	VSUBPS.BCST (32+4*i)(SI), Z1, Z4 \
	VFMADD231PS Z4, Z4, Z3           \
	VSUBPS.BCST (64+4*i)(SI), Z2, Z4 \
	VFMADD231PS Z4, Z4, Z3           \
	VMAXPS zbest, Z3, Z4             \
	VMINPS zsec, Z4, zsec            \
	VCMPPS $0x11, zbest, Z3, K1      \
	VMINPS zbest, Z3, zbest          \
	VMOVDQA32 Z5, K1, zpair

// MIN2 packs the lane-wise minima of two 16-lane vectors za and zb, 8 per
// source, into zd: chunks 0-1 from za, 2-3 from zb (zt: scratch).
#define MIN2(za, zb, zd, zt) \
	VSHUFF32X4 $0x44, zb, za, zd \
	VSHUFF32X4 $0xee, zb, za, zt \
	VMINPS zt, zd, zd

// QOUT32 finishes query point i, whose float32 threshold (smallest
// distance plus the margin, rounded up) is at byte 4*i of the frame: when
// exactly one lane's smallest distance (zbest) is at most the threshold
// (BLSR: a carry when none is; SBB makes that count as two) and no lane's
// second smallest (zsec) is, that lane's point is the nearest by more than
// the margin, and its slot and exact sqDist (from the float64
// query point at R9 + 24*min(i, DI) and the float64 blocks at R13) go to
// byte 16*i of DX; otherwise +Inf and slot -2 (search exactly).
#define QOUT32(i, zbest, zsec, zpair, lunique, lstore) \
	VBROADCASTSS (4*i)(SP), Z6       \
	VCMPPS $0x12, Z6, zbest, K1      \
	VCMPPS $0x12, Z6, zsec, K2       \
	KMOVW K1, AX                     \
	KMOVW K2, BX                     \
	BLSRL AX, CX                     \
	SBBL R11, R11                    \
	ORL  BX, CX                      \
	ORL  R11, CX                     \
	JZ   lunique                     \
	VMOVSD inf64<>(SB), X6           \
	MOVQ $-2, BX                     \
	JMP  lstore                      \
lunique:                             \
	TZCNTL AX, AX                    \
	VPBROADCASTD AX, Z6              \
	VPERMD zpair, Z6, Z6             \
	VMOVD X6, BX                     \
	MOVL AX, CX                      \
	SHRL $3, CX                      \
	LEAQ (CX)(BX*2), BX              \
	MOVLQSX (R12)(BX*4), BX          \
	ANDL $7, AX                      \
	IMUL3Q $192, BX, R11             \
	ADDQ R13, R11                    \
	LEAQ (R11)(AX*8), R11            \
	SHLQ $3, BX                      \
	ORQ  AX, BX                      \
	MOVQ $i, AX                      \
	CMPQ AX, DI                      \
	CMOVQGT DI, AX                   \
	IMUL3Q $24, AX, AX               \
	ADDQ R9, AX                      \
	VMOVSD 0(AX), X6                 \
	VSUBSD 0(R11), X6, X6            \
	VMULSD X6, X6, X6                \
	VMOVSD 8(AX), X7                 \
	VSUBSD 64(R11), X7, X7           \
	VMULSD X7, X7, X7                \
	VADDSD X7, X6, X6                \
	VMOVSD 16(AX), X7                \
	VSUBSD 128(R11), X7, X7          \
	VMULSD X7, X7, X7                \
	VADDSD X7, X6, X6                \
lstore:                              \
	VMOVSD X6, (16*i)(DX)            \
	MOVQ BX, (16*i+8)(DX)

// func searchGroup8F32AVX512(qs *[24]float32, pairs *int32, np int, blocks32 *float32, qs64 *[3]float64, m int, blocks *float64, margin float64, hits *[8]groupHit)
//
// The float32 filter of the group kernel: the m query points of a float32
// block (qs; qs64 the same points in float64; the block's padding lanes give
// hits to ignore) against np pairs
// of blocks (pairs[2p], pairs[2p+1]), 16 points per vector. Per point it
// keeps, lane by lane, the two smallest float32 distances; when all the
// candidate's rivals are more than margin (f32Margin) farther than the
// smallest, that candidate is the exact nearest and its exact sqDist and
// slot are stored, else +Inf and slot -2.
TEXT ·searchGroup8F32AVX512(SB), NOSPLIT, $32-72
	MOVQ qs+0(FP), SI
	MOVQ pairs+8(FP), R12
	MOVQ np+16(FP), R14
	MOVQ blocks32+24(FP), R8
	MOVQ qs64+32(FP), R9
	MOVQ m+40(FP), DI
	DECQ DI                    // the last query point
	MOVQ blocks+48(FP), R13
	MOVQ hits+64(FP), DX
	VBROADCASTSS inf32<>(SB), Z8
	VMOVAPS Z8, Z9
	VMOVAPS Z8, Z10
	VMOVAPS Z8, Z11
	VMOVAPS Z8, Z12
	VMOVAPS Z8, Z13
	VMOVAPS Z8, Z14
	VMOVAPS Z8, Z15
	VMOVAPS Z8, Z16
	VMOVAPS Z8, Z17
	VMOVAPS Z8, Z18
	VMOVAPS Z8, Z19
	VMOVAPS Z8, Z20
	VMOVAPS Z8, Z21
	VMOVAPS Z8, Z22
	VMOVAPS Z8, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	XORQ R10, R10              // pair

pair:
	CMPQ R10, R14
	JGE  out
	MOVLQSX (R12)(R10*8), AX   // first block
	MOVLQSX 4(R12)(R10*8), BX  // second block
	IMUL3Q $96, AX, AX
	IMUL3Q $96, BX, BX
	ADDQ R8, AX
	ADDQ R8, BX
	VMOVUPS 0(AX), Y0
	VINSERTF32X8 $1, 0(BX), Z0, Z0
	VMOVUPS 32(AX), Y1
	VINSERTF32X8 $1, 32(BX), Z1, Z1
	VMOVUPS 64(AX), Y2
	VINSERTF32X8 $1, 64(BX), Z2, Z2
	VPBROADCASTD R10, Z5
	INCQ R10
	QPAIR32(0, Z8, Z16, Z24)
	QPAIR32(1, Z9, Z17, Z25)
	QPAIR32(2, Z10, Z18, Z26)
	QPAIR32(3, Z11, Z19, Z27)
	QPAIR32(4, Z12, Z20, Z28)
	QPAIR32(5, Z13, Z21, Z29)
	QPAIR32(6, Z14, Z22, Z30)
	QPAIR32(7, Z15, Z23, Z31)
	JMP  pair

out:
	// Each point's smallest distance, all 8 at once: pairwise packing
	// halves the lanes per point twice, then two shuffles within chunks.
	MIN2(Z8, Z9, Z0, Z3)
	MIN2(Z10, Z11, Z1, Z3)
	MIN2(Z12, Z13, Z2, Z3)
	MIN2(Z14, Z15, Z4, Z3)
	VSHUFF32X4 $0x88, Z1, Z0, Z5
	VSHUFF32X4 $0xdd, Z1, Z0, Z3
	VMINPS Z3, Z5, Z5          // points 0-3, a chunk each
	VSHUFF32X4 $0x88, Z4, Z2, Z6
	VSHUFF32X4 $0xdd, Z4, Z2, Z3
	VMINPS Z3, Z6, Z6          // points 4-7
	VPERMILPS $0x4e, Z5, Z3
	VMINPS Z3, Z5, Z5
	VPERMILPS $0xb1, Z5, Z3
	VMINPS Z3, Z5, Z5
	VPERMILPS $0x4e, Z6, Z3
	VMINPS Z3, Z6, Z6
	VPERMILPS $0xb1, Z6, Z3
	VMINPS Z3, Z6, Z6
	VMOVDQU32 pack8<>(SB), Z7
	VPERMT2PS Z6, Z7, Z5       // the 8 minima in lanes 0-7
	// Thresholds: minimum + margin, in float64, rounded up to float32.
	VCVTPS2PD Y5, Z3
	VADDPD.BCST margin+56(FP), Z3, Z3
	VCVTPD2PS.RU_SAE Z3, Y3
	VMOVUPS Y3, 0(SP)
	QOUT32(0, Z8, Z16, Z24, unique0, store0)
	QOUT32(1, Z9, Z17, Z25, unique1, store1)
	QOUT32(2, Z10, Z18, Z26, unique2, store2)
	QOUT32(3, Z11, Z19, Z27, unique3, store3)
	QOUT32(4, Z12, Z20, Z28, unique4, store4)
	QOUT32(5, Z13, Z21, Z29, unique5, store5)
	QOUT32(6, Z14, Z22, Z30, unique6, store6)
	QOUT32(7, Z15, Z23, Z31, unique7, store7)
	VZEROUPPER
	RET

// func childGapsAVX512(q *[3]float64, w *wideNode, bound2 float64, gaps *[8]float64) uint8
TEXT ·childGapsAVX512(SB), NOSPLIT, $0-33
	MOVQ q+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ gaps+24(FP), DX
	VBROADCASTSD 0(SI), Z0
	VBROADCASTSD 8(SI), Z1
	VBROADCASTSD 16(SI), Z2
	VPXORQ Z14, Z14, Z14
	GAPS8
	VMOVUPD Z3, 0(DX)
	VCMPPD.BCST $0x11, bound2+16(FP), Z3, K1 // gap2 < bound2
	KMOVW K1, AX
	MOVB AX, ret+32(FP)
	VZEROUPPER
	RET

// func searchBottomAVX512(q *[3]float64, w *wideNode, blocks *float64, bound2 float64) (float64, int)
//
// searchBottomAVX2 with a block in one vector.
TEXT ·searchBottomAVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ blocks+16(FP), R8
	VMOVSD bound2+24(FP), X15  // best so far
	VBROADCASTSD 0(SI), Z0
	VBROADCASTSD 8(SI), Z1
	VBROADCASTSD 16(SI), Z2
	VPXORQ Z14, Z14, Z14
	GAPS8                      // the blocks whose box is nearer than bound2
	VCMPPD.BCST $0x11, bound2+24(FP), Z3, K1
	KMOVW K1, AX
	MOVQ $-1, R9               // best slot

bnext:
	TESTQ AX, AX
	JZ    bdone
	TZCNTQ AX, CX
	BLSRQ AX, AX
	MOVL wideNode_child(DI)(CX*4), DX // child[c] = ^block
	NOTL DX
	IMUL3Q $192, DX, R10
	LEAQ (R8)(R10*1), R11      // the block: 8 x, 8 y, 8 z
	VSUBPD 0(R11), Z0, Z3      // ((dx*dx + dy*dy) + dz*dz)
	VMULPD Z3, Z3, Z3
	VSUBPD 64(R11), Z1, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	VSUBPD 128(R11), Z2, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	// The block's smallest distance (padding slots are +Inf) and its
	// first slot; they replace the best if strictly smaller (no branch).
	VEXTRACTF64X4 $1, Z3, Y6
	VMINPD Y6, Y3, Y6
	VEXTRACTF128 $1, Y6, X7
	VMINPD X7, X6, X6
	VPERMILPD $1, X6, X7
	VMINSD X7, X6, X6
	VBROADCASTSD X6, Z7
	VCMPPD $0, Z7, Z3, K2
	KMOVW K2, R12
	TZCNTL R12, R12
	LEAQ (R12)(DX*8), R12
	VUCOMISD X15, X6
	CMOVQCS R12, R9            // below the best so far
	VMINSD X15, X6, X15
	JMP  bnext

bdone:
	VMOVSD X15, ret+32(FP)
	MOVQ R9, ret1+40(FP)
	VZEROUPPER
	RET

// Index vectors that split 8 tangents stored x, y, z, x, ... in Z3
// (elements 0-7), Z4 (8-15) and Z5 (16-23) into their x, y and z: a
// VPERMT2PD of Z3 and Z4 gives lanes 0-5 (0-4 for z), a masked VPERMPD of
// Z5 the rest.
DATA aosx<>+0(SB)/8, $0
DATA aosx<>+8(SB)/8, $3
DATA aosx<>+16(SB)/8, $6
DATA aosx<>+24(SB)/8, $9
DATA aosx<>+32(SB)/8, $12
DATA aosx<>+40(SB)/8, $15
DATA aosx<>+48(SB)/8, $2
DATA aosx<>+56(SB)/8, $5
GLOBL aosx<>(SB), RODATA|NOPTR, $64
DATA aosy<>+0(SB)/8, $1
DATA aosy<>+8(SB)/8, $4
DATA aosy<>+16(SB)/8, $7
DATA aosy<>+24(SB)/8, $10
DATA aosy<>+32(SB)/8, $13
DATA aosy<>+40(SB)/8, $0
DATA aosy<>+48(SB)/8, $3
DATA aosy<>+56(SB)/8, $6
GLOBL aosy<>(SB), RODATA|NOPTR, $64
DATA aosz<>+0(SB)/8, $2
DATA aosz<>+8(SB)/8, $5
DATA aosz<>+16(SB)/8, $8
DATA aosz<>+24(SB)/8, $11
DATA aosz<>+32(SB)/8, $14
DATA aosz<>+40(SB)/8, $1
DATA aosz<>+48(SB)/8, $4
DATA aosz<>+56(SB)/8, $7
GLOBL aosz<>(SB), RODATA|NOPTR, $64
DATA absmask<>+0(SB)/8, $0x7fffffffffffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $8
DATA one64<>+0(SB)/8, $1
GLOBL one64<>(SB), RODATA|NOPTR, $8

// CELLEDGES adds, in each lane of za (even edges) or zb (odd edges) whose
// value in zv exceeds an edge, zstep once per edge: R11 points at the
// edges (padded to a multiple of 4 with +Inf), R12 counts them; K4 and K5
// are scratch.
#define CELLEDGES(zv, zstep, za, zb, lloop, ldone) \
lloop:                                   \
	TESTQ R12, R12                       \
	JZ    ldone                          \
	VCMPPD.BCST $0x1e, 0(R11), zv, K4    \
	VCMPPD.BCST $0x1e, 8(R11), zv, K5    \
	VPADDQ zstep, za, K4, za             \
	VPADDQ zstep, zb, K5, zb             \
	VCMPPD.BCST $0x1e, 16(R11), zv, K4   \
	VCMPPD.BCST $0x1e, 24(R11), zv, K5   \
	VPADDQ zstep, za, K4, za             \
	VPADDQ zstep, zb, K5, zb             \
	ADDQ  $32, R11                       \
	SUBQ  $4, R12                        \
	JMP   lloop                          \
ldone:

// func cells8AVX512(qv *[3]float64, n int, tv *[3]float64, near *[8]int32, d2 *[8]float64, tab *cellTable, out *[8]float64)
//
// cells8Go, 8 lanes at once: |dot| = |(qx*tx + qy*ty) + qz*tz| (each
// product rounded, as absDot), the cell index counted edge by edge
// (nDot per squared-distance edge below d2, 1 per |dot| edge below
// |dot|), the cells gathered, tab.none where near < 0 or in lanes >= n.
// Loads and gathers read only the tangents of the n points and of the
// targets near >= 0 of lanes below n.
TEXT ·cells8AVX512(SB), NOSPLIT, $0-56
	MOVQ qv+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ tv+16(FP), R8
	MOVQ near+24(FP), R9
	MOVQ d2+32(FP), R10
	MOVQ tab+40(FP), DI
	MOVQ out+48(FP), DX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1               // lanes < n
	VMOVDQU32 0(R9), Y0        // near
	VPXORD Y1, Y1, Y1
	VPCMPD $5, Y1, Y0, K1, K2  // lanes < n with near >= 0
	// The query tangents: the 3n words from SI, split by axis.
	LEAQ (CX)(CX*2), CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX                    // 3n ones
	KMOVW AX, K3
	VMOVUPD.Z 0(SI), K3, Z3
	SHRL $8, AX
	KMOVW AX, K3
	VMOVUPD.Z 64(SI), K3, Z4
	SHRL $8, AX
	KMOVW AX, K3
	VMOVUPD.Z 128(SI), K3, Z5
	MOVL $0xc0, AX
	KMOVW AX, K5               // lanes 6, 7
	MOVL $0xe0, AX
	KMOVW AX, K6               // lanes 5-7
	VMOVDQU64 aosx<>(SB), Z15
	VMOVDQU64 Z15, Z16
	VPERMI2PD Z4, Z3, Z15
	VPERMPD Z5, Z16, K5, Z15   // qx
	VMOVDQU64 aosy<>(SB), Z17
	VMOVDQU64 Z17, Z18
	VPERMI2PD Z4, Z3, Z17
	VPERMPD Z5, Z18, K6, Z17   // qy
	VMOVDQU64 aosz<>(SB), Z19
	VMOVDQU64 Z19, Z20
	VPERMI2PD Z4, Z3, Z19
	VPERMPD Z5, Z20, K6, Z19   // qz
	// The target tangents, at 3*near.
	VPADDD Y0, Y0, Y6
	VPADDD Y0, Y6, Y6
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	KMOVW K2, K3
	VGATHERDPD 0(R8)(Y6*8), K3, Z9
	KMOVW K2, K3
	VGATHERDPD 8(R8)(Y6*8), K3, Z10
	KMOVW K2, K3
	VGATHERDPD 16(R8)(Y6*8), K3, Z11
	VMULPD Z9, Z15, Z3
	VMULPD Z10, Z17, Z4
	VADDPD Z4, Z3, Z3
	VMULPD Z11, Z19, Z5
	VADDPD Z5, Z3, Z3
	VPANDQ.BCST absmask<>(SB), Z3, Z3 // |dot|
	VMOVUPD 0(R10), Z7         // d2
	VPXORQ Z8, Z8, Z8          // the cell index, in four parts
	VPXORQ Z16, Z16, Z16
	VPXORQ Z18, Z18, Z18
	VPXORQ Z20, Z20, Z20
	VPBROADCASTQ cellTable_nDot(DI), Z12
	VPBROADCASTQ one64<>(SB), Z13
	MOVQ cellTable_dist2(DI), R11
	MOVQ cellTable_dist2+8(DI), R12
	CELLEDGES(Z7, Z12, Z8, Z16, dloop, ddone)
	MOVQ cellTable_dot(DI), R11
	MOVQ cellTable_dot+8(DI), R12
	CELLEDGES(Z3, Z13, Z18, Z20, tloop, tdone)
	VPADDQ Z16, Z8, Z8
	VPADDQ Z20, Z18, Z18
	VPADDQ Z18, Z8, Z8
	MOVQ cellTable_cells(DI), R11
	VBROADCASTSD cellTable_none(DI), Z14
	KMOVW K2, K3
	VGATHERQPD 0(R11)(Z8*8), K3, Z14 // none where masked off
	VMOVUPD Z14, 0(DX)
	VZEROUPPER
	RET

// func hintReachAVX512(q64 *[24]float64, m int, p *[3]float64) float64
//
// hintReach for the m query points of a float64 block (8 x, 8 y, 8 z):
// sqDist from each to p, 8 lanes at once, as sqDist sums them, and the
// largest of the first m (distances are >= 0: the other lanes count as 0).
TEXT ·hintReachAVX512(SB), NOSPLIT, $0-32
	MOVQ q64+0(FP), SI
	MOVQ m+8(FP), CX
	MOVQ p+16(FP), DI
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VBROADCASTSD 0(DI), Z0
	VBROADCASTSD 8(DI), Z1
	VBROADCASTSD 16(DI), Z2
	VMOVUPD 0(SI), Z3
	VSUBPD Z0, Z3, Z3
	VMULPD Z3, Z3, Z3
	VMOVUPD 64(SI), Z4
	VSUBPD Z1, Z4, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	VMOVUPD 128(SI), Z4
	VSUBPD Z2, Z4, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	VMOVAPD.Z Z3, K1, Z3
	VEXTRACTF64X4 $1, Z3, Y4
	VMAXPD Y4, Y3, Y3
	VEXTRACTF128 $1, Y3, X4
	VMAXPD X4, X3, X3
	VPERMILPD $1, X3, X4
	VMAXSD X4, X3, X3
	VMOVSD X3, ret+24(FP)
	VZEROUPPER
	RET
