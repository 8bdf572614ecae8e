#include "textflag.h"
#include "go_asm.h"

// AVX-512 versions of the group kernels: the same operations, in the same
// order, on 8 lanes at once, with mask registers in place of blends. Every
// routine ends with VZEROUPPER.

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

// GAPS8 computes the 8 children's ((gx*gx + gy*gy) + gz*gz) into Z3 for the
// node or chunk at DI (lo[k] at 64*k, hi[k] at 192 + 64*k), gk = max(lo_k -
// q_k, q_k - hi_k, 0); q is broadcast in Z0-Z2, Z14 is zero.
#define GAPS8 \
	VMOVUPD 0(DI), Z3        \
	VSUBPD Z0, Z3, Z3        \
	VSUBPD 192(DI), Z0, Z4   \
	VMAXPD Z4, Z3, Z3        \
	VMAXPD Z14, Z3, Z3       \
	VMULPD Z3, Z3, Z3        \
	VMOVUPD 64(DI), Z5       \
	VSUBPD Z1, Z5, Z5        \
	VSUBPD 256(DI), Z1, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3        \
	VMOVUPD 128(DI), Z5      \
	VSUBPD Z2, Z5, Z5        \
	VSUBPD 320(DI), Z2, Z4   \
	VMAXPD Z4, Z5, Z5        \
	VMAXPD Z14, Z5, Z5       \
	VMULPD Z5, Z5, Z5        \
	VADDPD Z5, Z3, Z3

// func searchGroupAVX512(qs *[3]float64, m int, cands *candChunk, n int, blocks *float64, r2 float64, hits *groupHit)
//
// searchGroupGo for m query points against all n candidates (no box
// tests: with 8 lanes a block costs about what its test would, and a loop
// of fixed length does not mispredict): per lane the best distance (Z6)
// and the first slot of its block (Z8, as float64), a strictly smaller
// distance replacing (blocks come in increasing slot order, so the first of
// equals stays); then the lowest slot among the lanes holding the smallest
// distance.
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
	JZ    done
	VBROADCASTSD 0(SI), Z0
	VBROADCASTSD 8(SI), Z1
	VBROADCASTSD 16(SI), Z2
	VMOVAPD Z13, Z6            // best per lane
	VBROADCASTSD minus1_512<>(SB), Z8 // its block's first slot
	XORQ R10, R10              // candidate

block:
	CMPQ R10, R14
	JGE  reduce
	MOVQ R10, AX
	SHRQ $3, AX
	IMUL3Q $candChunk__size, AX, AX
	ADDQ R12, AX
	MOVQ R10, BX
	ANDQ $7, BX
	MOVL candChunk_block(AX)(BX*4), BX // block number
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
	// The smallest distance, then the lowest slot holding it; nothing
	// when it is beyond r2.
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

done:
	VZEROUPPER
	RET
