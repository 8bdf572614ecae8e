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

// func searchGroupAVX512(qs *[3]float64, m int, cands *int32, n int, blocks *float64, r2 float64, hits *groupHit)
//
// searchGroupAVX2 with 8 lanes: per lane the best distance (Z6) and the
// first slot of its block (Z8, as float64).
TEXT ·searchGroupAVX512(SB), NOSPLIT, $0-56
	MOVQ qs+0(FP), SI
	MOVQ m+8(FP), CX
	MOVQ cands+16(FP), R12
	MOVQ n+24(FP), R14
	MOVQ blocks+32(FP), R8
	MOVQ hits+48(FP), DX
	VBROADCASTSD inf512<>(SB), Z13

query:
	TESTQ CX, CX
	JZ    gdone
	VBROADCASTSD 0(SI), Z0
	VBROADCASTSD 8(SI), Z1
	VBROADCASTSD 16(SI), Z2
	VMOVAPD Z13, Z6            // best per lane
	VBROADCASTSD minus1_512<>(SB), Z8 // first slot of its block
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
	VSUBPD 0(R11), Z0, Z3
	VMULPD Z3, Z3, Z3
	VSUBPD 64(R11), Z1, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	VSUBPD 128(R11), Z2, Z4
	VMULPD Z4, Z4, Z4
	VADDPD Z4, Z3, Z3
	VCMPPD $0x11, Z6, Z3, K2   // d2 < best
	VMINPD Z6, Z3, Z6
	VBROADCASTSD X12, K2, Z8
	JMP  block

reduce:
	// The smallest distance, then the lowest slot holding it.
	VEXTRACTF64X4 $1, Z6, Y3
	VMINPD Y3, Y6, Y3
	VEXTRACTF128 $1, Y3, X4
	VMINPD X4, X3, X3
	VPERMILPD $1, X3, X4
	VMINSD X4, X3, X3
	VBROADCASTSD X3, Z10
	VCMPPD $0, Z10, Z6, K3
	VADDPD slots512<>(SB), Z8, Z5
	VMOVAPD Z13, Z11
	VMOVAPD Z5, K3, Z11
	VEXTRACTF64X4 $1, Z11, Y5
	VMINPD Y5, Y11, Y5
	VEXTRACTF128 $1, Y5, X11
	VMINPD X11, X5, X5
	VPERMILPD $1, X5, X11
	VMINSD X11, X5, X5
	VCVTTSD2SIQ X5, R9
	VUCOMISD r2+40(FP), X3
	JBE  store
	VMOVAPD X13, X3            // beyond r2: +Inf, -1
	MOVQ $-1, R9

store:
	VMOVSD X3, 0(DX)
	MOVQ R9, 8(DX)
	ADDQ $24, SI
	ADDQ $16, DX
	DECQ CX
	JMP  query

gdone:
	VZEROUPPER
	RET
