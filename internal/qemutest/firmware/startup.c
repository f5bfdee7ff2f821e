/* Vector table and reset handler for the Cortex-M3 of QEMU's mps2-an385. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
extern int main(void);

void reset_handler(void);
void systick_handler(void);
void uart0_rx_handler(void);

static void fault_handler(void)
{
	for (;;) {
	}
}

/* The system exceptions, then IRQ 0 (UART0 RX on mps2-an385). The two interrupts only wake the
 * core from WFI; the main loop does the work. */
__attribute__((section(".vectors"), used)) static void (*const vectors[])(void) = {
	(void (*)(void))&_stack_top,
	reset_handler,
	fault_handler, /* NMI */
	fault_handler, /* HardFault */
	fault_handler, /* MemManage */
	fault_handler, /* BusFault */
	fault_handler, /* UsageFault */
	0, 0, 0, 0,    /* reserved */
	fault_handler, /* SVCall */
	fault_handler, /* DebugMonitor */
	0,             /* reserved */
	fault_handler, /* PendSV */
	systick_handler,
	uart0_rx_handler, /* IRQ 0 */
};

void reset_handler(void)
{
	uint32_t *src = &_sidata;
	for (uint32_t *dst = &_sdata; dst < &_edata;) {
		*dst++ = *src++;
	}
	for (uint32_t *dst = &_sbss; dst < &_ebss;) {
		*dst++ = 0;
	}
	main();
	fault_handler();
}
