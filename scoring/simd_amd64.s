#include "textflag.h"

// The kernels compute exactly what searchBottomGo and childGapsGo compute: the
// same IEEE operations in the same order, each rounded, no fused
// multiply-add. Every VEX-encoded routine ends with VZEROUPPER, and no
// legacy-SSE instruction runs in between (mixing them stalls).

// GAPS4 computes, for 4 children at byte offset off of the wide node in DI,
// ((gx*gx + gy*gy) + gz*gz) into Y3, gk = max(lo_k - q_k, q_k - hi_k, 0);
// q is broadcast in Y0-Y2, Y14 is zero. lo[k] starts at byte 64*k, hi[k]
// at 192 + 64*k.
#define GAPS4(off) \
	VMOVUPD off+0(DI), Y3      \
	VSUBPD Y0, Y3, Y3          \
	VSUBPD off+192(DI), Y0, Y4 \
	VMAXPD Y4, Y3, Y3          \
	VMAXPD Y14, Y3, Y3         \
	VMULPD Y3, Y3, Y3          \
	VMOVUPD off+64(DI), Y5     \
	VSUBPD Y1, Y5, Y5          \
	VSUBPD off+256(DI), Y1, Y4 \
	VMAXPD Y4, Y5, Y5          \
	VMAXPD Y14, Y5, Y5         \
	VMULPD Y5, Y5, Y5          \
	VADDPD Y5, Y3, Y3          \
	VMOVUPD off+128(DI), Y5    \
	VSUBPD Y2, Y5, Y5          \
	VSUBPD off+320(DI), Y2, Y4 \
	VMAXPD Y4, Y5, Y5          \
	VMAXPD Y14, Y5, Y5         \
	VMULPD Y5, Y5, Y5          \
	VADDPD Y5, Y3, Y3

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
	MOVL 384(DI)(CX*4), DX     // child[c] = ^block
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
