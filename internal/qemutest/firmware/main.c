/*
 * RTT ⇄ UART bridge for QEMU's mps2-an385 (Cortex-M3).
 *
 * The firmware keeps a SEGGER RTT control block, _SEGGER_RTT, in RAM with one up channel
 * ("Terminal", 1024 bytes) and one down channel ("Terminal", 16 bytes: Zephyr's default), laid
 * out and initialised as SEGGER_RTT.c does. Its main loop moves bytes the host writes into the
 * down buffer to UART0's transmitter, and bytes UART0 receives into the up buffer. QEMU connects
 * UART0 to a socket on which a modem model answers, so a host debugger that speaks RTT through
 * QEMU's GDB server talks to that modem.
 *
 * With nothing to move the core sleeps (WFI) until UART0 receives a byte or the 1 ms SysTick
 * fires, which is when it looks at the down buffer again (Zephyr's shell polls its RTT down
 * buffer every 10 ms), so QEMU does not spin a host CPU.
 *
 * The up channel works in SEGGER_RTT_MODE_BLOCK_IF_FIFO_FULL: when the up buffer is full the
 * firmware waits for the host to read rather than dropping bytes. While it waits it leaves
 * UART0's receiver alone, so the modem's output backs up in QEMU's socket, not lost.
 */
#include <stddef.h>
#include <stdint.h>

/* CMSDK APB UART0. */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)
#define UART_CTRL_RX_INT_EN (1u << 3)
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0x0c))
#define UART_INT_RX (1u << 1)

/* Cortex-M3 SysTick and NVIC. */
#define SYST_CSR (*(volatile uint32_t *)0xe000e010)
#define SYST_RVR (*(volatile uint32_t *)0xe000e014)
#define SYST_CVR (*(volatile uint32_t *)0xe000e018)
#define SYST_CSR_ENABLE_TICKINT_CPUCLK 0x7u
#define NVIC_ISER0 (*(volatile uint32_t *)0xe000e100)
#define UART0_RX_IRQ 0
#define CPU_HZ 25000000u /* mps2-an385 SYSCLK */

#define SEGGER_RTT_MODE_BLOCK_IF_FIFO_FULL 2u

#define UP_SIZE 1024
#define DOWN_SIZE 16

/* SEGGER_RTT_BUFFER_UP / _DOWN: the host writes RdOff of an up buffer and WrOff of a down one. */
typedef struct {
	const char *sName;
	char *pBuffer;
	uint32_t SizeOfBuffer;
	volatile uint32_t WrOff;
	volatile uint32_t RdOff;
	uint32_t Flags;
} rtt_buffer;

/* SEGGER_RTT_CB with one up and one down buffer. */
typedef struct {
	volatile char acID[16];
	int32_t MaxNumUpBuffers;
	int32_t MaxNumDownBuffers;
	rtt_buffer aUp[1];
	rtt_buffer aDown[1];
} rtt_cb;

rtt_cb _SEGGER_RTT;
static char up_buf[UP_SIZE];
static char down_buf[DOWN_SIZE];
static const char terminal[] = "Terminal";

static inline void dmb(void) { __asm__ volatile("dmb" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

/* The interrupts only wake the core; the RX one is acknowledged so it does not fire again until
 * the next byte. */
void systick_handler(void) {}
void uart0_rx_handler(void) { UART_INTSTATUS = UART_INT_RX; }

/* rtt_init is SEGGER_RTT.c's _DoInit: descriptors first, then the ID, written backwards, last. */
static void rtt_init(void)
{
	/* The ID, reversed, so that "SEGGER RTT" never appears in the image itself. */
	static const char id_reversed[] = "\0\0\0\0\0\0TTR REGGES";
	volatile char *p = (volatile char *)&_SEGGER_RTT;
	for (size_t i = 0; i < sizeof(_SEGGER_RTT); i++) {
		p[i] = 0;
	}
	_SEGGER_RTT.MaxNumUpBuffers = 1;
	_SEGGER_RTT.MaxNumDownBuffers = 1;
	_SEGGER_RTT.aUp[0] = (rtt_buffer){terminal, up_buf, UP_SIZE, 0, 0, SEGGER_RTT_MODE_BLOCK_IF_FIFO_FULL};
	_SEGGER_RTT.aDown[0] = (rtt_buffer){terminal, down_buf, DOWN_SIZE, 0, 0, 0};
	dmb();
	for (int i = 0; i < 16; i++) {
		_SEGGER_RTT.acID[i] = id_reversed[15 - i];
	}
	dmb();
}

/* down_get takes one byte the host wrote, if there is one. Like SEGGER_RTT_ReadNoLock it reads
 * WrOff once (the host may be writing), takes the data, then publishes RdOff. */
static int down_get(char *c)
{
	rtt_buffer *b = &_SEGGER_RTT.aDown[0];
	uint32_t rd = b->RdOff;
	uint32_t wr = b->WrOff;
	if (rd == wr) {
		return 0;
	}
	dmb();
	*c = b->pBuffer[rd];
	dmb();
	b->RdOff = (rd + 1) % b->SizeOfBuffer;
	return 1;
}

/* up_put appends one byte, waiting while the buffer is full (BLOCK_IF_FIFO_FULL): the data goes
 * in before WrOff moves, with a barrier between, as in _WriteBlocking. */
static void up_put(char c)
{
	rtt_buffer *b = &_SEGGER_RTT.aUp[0];
	uint32_t wr = b->WrOff;
	uint32_t next = (wr + 1) % b->SizeOfBuffer;
	while (b->RdOff == next) {
		/* Full: the host frees space by moving RdOff; look again at the next tick. */
		wfi();
	}
	b->pBuffer[wr] = c;
	dmb();
	b->WrOff = next;
}

int main(void)
{
	UART_BAUDDIV = 16; /* QEMU does not model the baud rate, but the device wants a divisor >= 16 */
	UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT_EN;
	NVIC_ISER0 = 1u << UART0_RX_IRQ;
	SYST_RVR = CPU_HZ / 1000 - 1;
	SYST_CVR = 0;
	SYST_CSR = SYST_CSR_ENABLE_TICKINT_CPUCLK;
	rtt_init();
	for (;;) {
		int moved = 0;
		char c;
		while (!(UART_STATE & UART_STATE_TX_FULL) && down_get(&c)) {
			UART_DATA = (uint8_t)c;
			moved = 1;
		}
		while (UART_STATE & UART_STATE_RX_FULL) {
			up_put((char)UART_DATA);
			moved = 1;
		}
		if (!moved) {
			/* A byte that came in since the check has already run its (empty) handler:
			 * it waits for the next tick at most. */
			wfi();
		}
	}
}
