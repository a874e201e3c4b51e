/* startup: vector table and reset handler for the Cortex-M3. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

int main(void);
void reset_handler(void);
void systick_handler(void);
void fault_handler(void);

/* A vector is either the initial stack pointer (entry 0) or a handler. The
 * union states that in C instead of casting a data address to a function
 * pointer; both members are one 32-bit word on this target. */
typedef union vector {
  void *sp;
  void (*fn)(void);
} vector;

__attribute__((section(".vectors"), used)) static const vector vectors[16] = {
    {.sp = &_estack},
    {.fn = reset_handler},
    {.fn = fault_handler}, /* NMI */
    {.fn = fault_handler}, /* HardFault */
    {.fn = fault_handler}, /* MemManage */
    {.fn = fault_handler}, /* BusFault */
    {.fn = fault_handler}, /* UsageFault */
    {.sp = 0},
    {.sp = 0},
    {.sp = 0},
    {.sp = 0},
    {.fn = fault_handler}, /* SVCall */
    {.fn = fault_handler}, /* DebugMonitor */
    {.sp = 0},
    {.fn = fault_handler}, /* PendSV */
    {.fn = systick_handler},
};

void fault_handler(void) {
  sh_puts("sensor-fw: fault\n");
  sh_exit(3);
}

void reset_handler(void) {
  /* .data from its load address in CODE, .bss to zero; word copies, as
   * the linker script aligns all four symbols to 4. */
  const uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;) {
    *dst++ = *src++;
  }
  for (uint32_t *dst = &_sbss; dst < &_ebss;) {
    *dst++ = 0;
  }
  sh_exit(main());
}
