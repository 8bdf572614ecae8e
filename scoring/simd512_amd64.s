#include "textflag.h"
#include "go_asm.h"

// AVX-512 versions of the group kernels: the same operations in the same
// order as the AVX2 ones, 8 lanes at once, with mask registers in place of
// blends. Every routine ends with VZEROUPPER.

DATA inf512<>+0(SB)/8, $0x7ff0000000000000
GLOBL inf512<>(SB), RODATA|NOPTR, $8
DATA minus1_512<>+0(SB)/8, $-1.0
GLOBL minus1_512<>(SB), RODATA|NOPTR, $8
DATA slots512<>+0(SB)/8, $0.0
DATA slots512<>+8(SB)/8, $1.0
DATA slots512<>+16(SB)/8, $2.0
DATA slots512<>+24(SB)/8, $3.0
DATA slots512<>+32(SB)/8, $4.0
DATA slots512<>+40(SB)/8, $5.0
DATA slots512<>+48(SB)/8, $6.0
DATA slots512<>+56(SB)/8, $7.0
GLOBL slots512<>(SB), RODATA|NOPTR, $64

// GAPBOX8 computes the squared gaps ((gx*gx + gy*gy) + gz*gz) between box g
// and the 8 children of the wide node at DI (lo[k] at 64*k, hi[k] at 192 +
// 64*k) into Z3, gk = max(lo_k - ghi_k, glo_k - hi_k, 0), with glo
// broadcast in Z0-Z2, ghi in Z8-Z10 and Z14 zero.
#define GAPBOX8 \
	VMOVUPD 0(DI), Z3        \
	VSUBPD Z8, Z3, Z3        \
	VSUBPD 192(DI), Z0, Z4   \
	VMAXPD Z4, Z3, Z3        \
	VMAXPD Z14, Z3, Z3       \
	VMULPD Z3, Z3, Z3        \
	VMOVUPD 64(DI), Z5       \
	VSUBPD Z9, Z5, Z5        \
	VSUBPD 256(DI), Z1, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3        \
	VMOVUPD 128(DI), Z5      \
	VSUBPD Z10, Z5, Z5       \
	VSUBPD 320(DI), Z2, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3

// func gatherAVX512(wide *wideNode, gb *box, r2 float64, out *int32, stack *int32) int
//
// gatherAVX2 with one test for a node's 8 children and a bottom node's
// blocks appended by one compress. out must have room for every block and
// 8 more (the compressed vector is stored whole).
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
	MOVL $0, (R13)             // the root
	MOVQ $1, R10               // stack depth

node:
	TESTQ R10, R10
	JZ   done
	DECQ R10
	MOVLQSX (R13)(R10*4), AX
	IMUL3Q $wideNode__size, AX, DI
	ADDQ R12, DI
	GAPBOX8
	VCMPPD $0x12, Z15, Z3, K1  // gap2 <= r2
	KMOVW K1, AX
	MOVBLZX wideNode_bottom(DI), BX
	TESTQ BX, BX
	JNZ  blocks

push:
	TESTQ AX, AX
	JZ   node
	BSRQ AX, CX
	BTRQ CX, AX
	MOVL wideNode_child(DI)(CX*4), BX
	MOVL BX, (R13)(R10*4)
	INCQ R10
	JMP  push

blocks:
	VMOVDQU32 wideNode_child(DI), Y3
	VPXORD Y13, Y3, Y3         // ^child: the block numbers
	VPCOMPRESSD Y3, K1, Y4
	VMOVDQU32 Y4, (R8)(R9*4)
	POPCNTL AX, AX
	ADDQ AX, R9
	JMP  node

done:
	MOVQ R9, ret+40(FP)
	VZEROUPPER
	RET

// QBLOCK matches query point i (its coordinates at byte 24*i of SI) with
// the block in Z0-Z2 (x, y, z; its first slot broadcast in Z12): lane-wise
// ((dx*dx + dy*dy) + dz*dz) with dx = x - qx (the same square as qx - x),
// and a strictly smaller distance replaces zbest and, in zslot, its
// block's first slot.
#define QBLOCK(i, zbest, zslot) \
	VSUBPD.BCST (24*i)(SI), Z0, Z3    \
	VMULPD Z3, Z3, Z3                 \
	VSUBPD.BCST (24*i+8)(SI), Z1, Z4  \
	VMULPD Z4, Z4, Z4                 \
	VADDPD Z4, Z3, Z3                 \
	VSUBPD.BCST (24*i+16)(SI), Z2, Z4 \
	VMULPD Z4, Z4, Z4                 \
	VADDPD Z4, Z3, Z3                 \
	VCMPPD $0x11, zbest, Z3, K1       \
	VMINPD zbest, Z3, zbest           \
	VMOVAPD Z12, K1, zslot

// QREDUCE stores query point i's hit at byte 16*i of DX: the smallest of
// zbest's lanes (ybest: its low half), then the lowest slot holding it
// (zslot + lane).
#define QREDUCE(i, zbest, ybest, zslot) \
	VEXTRACTF64X4 $1, zbest, Y3       \
	VMINPD Y3, ybest, Y3              \
	VEXTRACTF128 $1, Y3, X4           \
	VMINPD X4, X3, X3                 \
	VPERMILPD $1, X3, X4              \
	VMINSD X4, X3, X3                 \
	VBROADCASTSD X3, Z10              \
	VCMPPD $0, Z10, zbest, K3         \
	VADDPD slots512<>(SB), zslot, Z5  \
	VMOVAPD Z13, Z11                  \
	VMOVAPD Z5, K3, Z11               \
	VEXTRACTF64X4 $1, Z11, Y5         \
	VMINPD Y5, Y11, Y5                \
	VEXTRACTF128 $1, Y5, X11          \
	VMINPD X11, X5, X5                \
	VPERMILPD $1, X5, X11             \
	VMINSD X11, X5, X5                \
	VCVTTSD2SIQ X5, R9                \
	VMOVSD X3, (16*i)(DX)             \
	MOVQ R9, (16*i+8)(DX)

// func searchGroup8AVX512(qs *[8][3]float64, cands *int32, n int, blocks *float64, hits *[8]groupHit)
//
// searchGroupAVX2 for exactly 8 query points at once (pad a smaller group
// with copies of a point): each candidate block is loaded once and matched
// with all 8, whose per-lane best distances and slots stay in Z16-Z31.
TEXT ·searchGroup8AVX512(SB), NOSPLIT, $0-40
	MOVQ qs+0(FP), SI
	MOVQ cands+8(FP), R12
	MOVQ n+16(FP), R14
	MOVQ blocks+24(FP), R8
	MOVQ hits+32(FP), DX
	VBROADCASTSD inf512<>(SB), Z13
	VBROADCASTSD minus1_512<>(SB), Z12
	VMOVAPD Z13, Z16
	VMOVAPD Z13, Z17
	VMOVAPD Z13, Z18
	VMOVAPD Z13, Z19
	VMOVAPD Z13, Z20
	VMOVAPD Z13, Z21
	VMOVAPD Z13, Z22
	VMOVAPD Z13, Z23
	VMOVAPD Z12, Z24
	VMOVAPD Z12, Z25
	VMOVAPD Z12, Z26
	VMOVAPD Z12, Z27
	VMOVAPD Z12, Z28
	VMOVAPD Z12, Z29
	VMOVAPD Z12, Z30
	VMOVAPD Z12, Z31
	XORQ R10, R10              // candidate

block:
	CMPQ R10, R14
	JGE  reduce
	MOVLQSX (R12)(R10*4), BX   // block number
	INCQ R10
	IMUL3Q $192, BX, R11
	ADDQ R8, R11
	SHLQ $3, BX                // its first slot
	VCVTSI2SDQ BX, X12, X12
	VBROADCASTSD X12, Z12
	VMOVUPD 0(R11), Z0
	VMOVUPD 64(R11), Z1
	VMOVUPD 128(R11), Z2
	QBLOCK(0, Z16, Z24)
	QBLOCK(1, Z17, Z25)
	QBLOCK(2, Z18, Z26)
	QBLOCK(3, Z19, Z27)
	QBLOCK(4, Z20, Z28)
	QBLOCK(5, Z21, Z29)
	QBLOCK(6, Z22, Z30)
	QBLOCK(7, Z23, Z31)
	JMP  block

reduce:
	QREDUCE(0, Z16, Y16, Z24)
	QREDUCE(1, Z17, Y17, Z25)
	QREDUCE(2, Z18, Y18, Z26)
	QREDUCE(3, Z19, Y19, Z27)
	QREDUCE(4, Z20, Y20, Z28)
	QREDUCE(5, Z21, Y21, Z29)
	QREDUCE(6, Z22, Y22, Z30)
	QREDUCE(7, Z23, Y23, Z31)
	VZEROUPPER
	RET
