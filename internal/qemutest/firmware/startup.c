/* Vector table and reset handler for the Cortex-M3 of QEMU's mps2-an385. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
extern int main(void);

void reset_handler(void);

static void fault_handler(void)
{
	for (;;) {
	}
}

/* Only the initial stack pointer, reset and the fault vectors: the firmware uses no interrupts. */
__attribute__((section(".vectors"), used)) static void (*const vectors[])(void) = {
	(void (*)(void))&_stack_top,
	reset_handler,
	fault_handler, /* NMI */
	fault_handler, /* HardFault */
	fault_handler, /* MemManage */
	fault_handler, /* BusFault */
	fault_handler, /* UsageFault */
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
