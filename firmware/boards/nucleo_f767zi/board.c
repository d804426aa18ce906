/*
 * board.c - NUCLEO-F767ZI (STM32F767ZI, Cortex-M7 r1p0 with 16 KB I- and D-cache).
 *
 * Clock: 216 MHz SYSCLK from the PLL, fed by the ST-LINK's 8 MHz MCO on OSC_IN (HSE
 * bypass; the board fits no crystal for HSE by default), with the regulator in
 * over-drive. If any step of that bring-up times out, the board stays on the 16 MHz
 * HSI RC oscillator and says so through board_core_clock_hz().
 * The PLL input is 1.6 MHz, not the 2 MHz RM0410 prefers for jitter, because every PLL of
 * the part shares it and PLLSAI makes the 48 kHz audio clock exactly from 1.6 MHz only
 * (audio_math.c).
 * Console: USART3 on PD8 (TX) / PD9 (RX), which the board routes to the ST-LINK's
 * virtual COM port, at 921600 baud 8N1, interrupt driven (console.c).
 * Audio: SAI1 + DMA2 to an I2S ADC/DAC pair, or TIM6-paced buffers (audio.c, codec.c).
 * Counter: DWT CYCCNT, core clock cycles, when it actually runs (Renode's DWT is a
 * stub that reads 0, so the firmware is told BOARD_COUNTER_NONE there).
 * Time: SysTick interrupts once a millisecond of the core clock (board_millis()), at the
 * lowest priority, so it never delays the audio or console interrupts.
 * Exit: a system reset, after the last byte has left the UART.
 *
 * Register and bit names are RM0410's (STM32F76xxx reference manual) and the ARMv7-M
 * ARM's; see stm32f767_regs.h.
 */
#include "firmware/boards/board.h"

#include "firmware/boards/common/startup.h"
#include "firmware/boards/nucleo_f767zi/board_internal.h"
#include "firmware/boards/nucleo_f767zi/stm32f767_regs.h"

#define HSI_HZ 16000000u   /* RM0410 5.2.2: HSI RC, factory trimmed to 1% at 25 C */
#define HSE_HZ 8000000u    /* ST-LINK MCO, from the ST-LINK's own 8 MHz crystal */
#define PLL_M 5u           /* VCO input 8 MHz / 5 = 1.6 MHz (RM0410: 1..2 MHz); see above */
#define PLL_N 270u         /* VCO output 1.6 MHz * 270 = 432 MHz (RM0410: 100..432 MHz) */
#define PLL_P 2u           /* SYSCLK 432 MHz / 2 = 216 MHz, the part's maximum */
#define PLL_Q 9u           /* 48 MHz domain (USB, SDMMC, RNG) 432 MHz / 9 = 48 MHz */
#define PLL_SYSCLK_HZ (HSE_HZ / PLL_M * PLL_N / PLL_P)
#define PLL_PCLK1_HZ (PLL_SYSCLK_HZ / 4u) /* APB1 /4: 54 MHz, its maximum */
#define PLL_TIMER1_HZ (2u * PLL_PCLK1_HZ) /* APB1 timers: twice PCLK1 when PPRE1 != /1 */
#define FLASH_WAIT_STATES 7u /* RM0410 3.3.2 Table 7, 2.7-3.6 V: 7 WS for 210 < HCLK <= 216 */

_Static_assert(PLL_SYSCLK_HZ == 216000000u, "PLL settings must give 216 MHz");
_Static_assert(HSE_HZ / PLL_M * PLL_N / PLL_Q == 48000000u, "PLLQ must give 48 MHz");
_Static_assert(HSE_HZ % PLL_M == 0u && HSE_HZ / PLL_M == AUDIO_PLL_INPUT_HZ,
               "the audio clock settings (audio_math.c) assume a 1.6 MHz PLL input");

static uint32_t core_clock_hz = HSI_HZ; /* the reset clock until board_init() changes it */
static uint32_t console_clock_hz = HSI_HZ;
static uint32_t timer_clock_hz = HSI_HZ; /* APB1 timers; HSI fallback: APB1 undivided */
static bool pll_running;
static board_counter_unit_t counter_unit = BOARD_COUNTER_NONE;

static inline bool wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want) {
  return poll_bits(reg, mask, want, POLL_LIMIT);
}

/* The read back (plus DSB) is the short delay ST asks for between an RCC_xxxENR write and
 * the first access to that peripheral's registers ("delay after an RCC peripheral clock
 * enabling"; ST's HAL reads back the same way). */
void nucleo_clock_enable(volatile uint32_t *enr, uint32_t bit) {
  *enr |= bit;
  (void)*enr;
  dsb();
}

bool nucleo_pll_running(void) { return pll_running; }

uint32_t nucleo_timer_clock_hz(void) { return timer_clock_hz; }

/* NVIC_IPR takes the level in its top 4 bits. ICPR drops a request left pending by an
 * earlier stream of the same peripheral, so the first interrupt belongs to this one. */
void nucleo_irq_enable(uint32_t irq, uint32_t level) {
  NVIC_IPR(irq) = NVIC_PRIORITY(level);
  NVIC_ICPR(irq) = NVIC_BIT(irq);
  NVIC_ISER(irq) = NVIC_BIT(irq);
}

/* ARMv7-M ARM B3.4: an ICER write takes effect only after a DSB; the ISB makes the
 * following instructions run with the interrupt already masked. */
void nucleo_irq_disable(uint32_t irq) {
  NVIC_ICER(irq) = NVIC_BIT(irq);
  dsb();
  isb();
  NVIC_ICPR(irq) = NVIC_BIT(irq);
}

/* Returns the clock tree to its reset shape: SYSCLK from HSI, no bus prescalers, zero
 * flash wait states, over-drive, PLL and HSE off. It runs before the 216 MHz set-up
 * (a bootloader or debugger script may have left the PLL running, and PLLCFGR and
 * VOS may only change with the PLL off) and as the fallback when a set-up step fails.
 * Needs the PWR clock. Returns false if the switch back to HSI is not confirmed. */
static bool clock_use_hsi(void) {
  RCC_CR |= RCC_CR_HSION; /* RCC_CR HSION: on by default, but make sure */
  if (!wait_set(&RCC_CR, RCC_CR_HSIRDY)) {
    return false;
  }
  RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_Msk) | RCC_CFGR_SW_HSI; /* RCC_CFGR SW = HSI */
  if (!wait_bits(&RCC_CFGR, RCC_CFGR_SWS_Msk, RCC_CFGR_SWS_HSI)) {
    return false;
  }
  /* RCC_CFGR HPRE/PPRE1/PPRE2 = /1: 16 MHz is within every bus limit. */
  RCC_CFGR &= ~(RCC_CFGR_HPRE_Msk | RCC_CFGR_PPRE1_Msk | RCC_CFGR_PPRE2_Msk);
  /* RM0410 3.3.2: wait states may only drop after the clock has; 0 WS up to 30 MHz. */
  FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_Msk) | FLASH_ACR_LATENCY(0u);

  /* RM0410 4.1.4, leaving over-drive (with HSI as SYSCLK): PWR_CR1 ODSWEN off first,
   * which switches the regulator back to normal mode, then ODEN off. */
  PWR_CR1 &= ~PWR_CR1_ODSWEN;
  (void)wait_clear(&PWR_CSR1, PWR_CSR1_ODSWRDY);
  PWR_CR1 &= ~PWR_CR1_ODEN;
  (void)wait_clear(&PWR_CSR1, PWR_CSR1_ODRDY);

  /* RCC_CR PLLON, HSEON off, and PLLI2SON/PLLSAION too: the three PLLs share PLLM, which
   * may only change with all of them off. */
  RCC_CR &= ~(RCC_CR_PLLON | RCC_CR_PLLI2SON | RCC_CR_PLLSAION | RCC_CR_HSEON);
  (void)wait_clear(&RCC_CR, RCC_CR_PLLRDY | RCC_CR_PLLI2SRDY | RCC_CR_PLLSAIRDY | RCC_CR_HSERDY);
  RCC_CR &= ~RCC_CR_HSEBYP; /* RCC_CR HSEBYP is only writable with the HSE off */
  return true;
}

/* Brings SYSCLK to 216 MHz, RM0410 4.1.4 "Entering Over-drive mode" step by step. The
 * core keeps running on HSI until the final switch, so a false return (a step timed
 * out) leaves the tree in a state clock_use_hsi() can undo. */
static bool clock_use_pll_216mhz(void) {
  /* PWR_CR1 VOS = scale 1 (also its reset value): required above 180 MHz. VOS only
   * changes with the PLL off, and takes effect when the PLL starts. */
  PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_Msk) | PWR_CR1_VOS_SCALE1;

  /* HSE in bypass mode: the ST-LINK drives a clock, not a crystal, into OSC_IN.
   * RCC_CR HSEBYP must be set before HSEON; then wait for RCC_CR HSERDY. */
  RCC_CR |= RCC_CR_HSEBYP;
  RCC_CR |= RCC_CR_HSEON;
  if (!wait_set(&RCC_CR, RCC_CR_HSERDY)) {
    return false;
  }

  /* Step 2: RCC_PLLCFGR PLLM=5, PLLN=270, PLLP=2 (00), PLLQ=9, PLLSRC=HSE, keeping
   * PLLR (DSI only) at its value (reset: 2; 0 and 1 are invalid). Then RCC_CR PLLON. */
  RCC_PLLCFGR = (RCC_PLLCFGR & RCC_PLLCFGR_PLLR_Msk) | RCC_PLLCFGR_PLLM(PLL_M) |
                RCC_PLLCFGR_PLLN(PLL_N) | RCC_PLLCFGR_PLLP_DIV2 | RCC_PLLCFGR_PLLSRC_HSE |
                RCC_PLLCFGR_PLLQ(PLL_Q);
  RCC_CR |= RCC_CR_PLLON;
  /* Step 7's wait for lock (RCC_CR PLLRDY), done early: the PLL's failure is then
   * found before the regulator is touched. RM0410 lets the lock overlap steps 3-6. */
  if (!wait_set(&RCC_CR, RCC_CR_PLLRDY)) {
    return false;
  }

  /* Steps 3-5: PWR_CR1 ODEN, wait PWR_CSR1 ODRDY; then PWR_CR1 ODSWEN, which stalls
   * the core while the regulator switches, wait PWR_CSR1 ODSWRDY. */
  PWR_CR1 |= PWR_CR1_ODEN;
  if (!wait_set(&PWR_CSR1, PWR_CSR1_ODRDY)) {
    return false;
  }
  PWR_CR1 |= PWR_CR1_ODSWEN;
  if (!wait_set(&PWR_CSR1, PWR_CSR1_ODSWRDY)) {
    return false;
  }

  /* Step 6, flash: RM0410 3.3.2 "increasing the CPU frequency": FLASH_ACR LATENCY =
   * 7 WS first, read it back, only then raise the clock. ARTEN/PRFTEN serve fetches
   * through the ITCM flash interface (0x00200000); this image runs from AXIM
   * (0x08000000), where the L1 I-cache does that job, but they cost nothing. */
  FLASH_ACR = FLASH_ACR_LATENCY(FLASH_WAIT_STATES) | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
  if ((FLASH_ACR & FLASH_ACR_LATENCY_Msk) != FLASH_ACR_LATENCY(FLASH_WAIT_STATES)) {
    return false;
  }

  /* Step 6, buses: RCC_CFGR HPRE /1 (HCLK 216 MHz), PPRE1 /4 (APB1 54 MHz, max 54),
   * PPRE2 /2 (APB2 108 MHz, max 108), set while still on HSI so no bus ever runs
   * above its limit. */
  RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_HPRE_Msk | RCC_CFGR_PPRE1_Msk | RCC_CFGR_PPRE2_Msk)) |
             RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
  /* RCC_DCKCFGR1 TIMPRE = 0 (its reset value, in case a bootloader changed it): the APB1
   * timers (TIM6) then run at 2 x PCLK1 = 108 MHz, which the audio timer assumes. */
  RCC_DCKCFGR1 &= ~RCC_DCKCFGR1_TIMPRE;

  /* Step 8: RCC_CFGR SW = PLL, confirmed by RCC_CFGR SWS. */
  RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_Msk) | RCC_CFGR_SW_PLL;
  return wait_bits(&RCC_CFGR, RCC_CFGR_SWS_Msk, RCC_CFGR_SWS_PLL);
}

/* Sets the clock variables above to the clocks really in use. */
static void clock_init(void) {
  /* RCC_APB1ENR PWREN: the PWR registers need their clock. It is the one peripheral
   * clock on during the over-drive switch; RM0410 4.1.4 wants the others enabled only
   * once over-drive is active, so the console is brought up after this. */
  nucleo_clock_enable(&RCC_APB1ENR, RCC_APB1ENR_PWREN);

  if (clock_use_hsi() && clock_use_pll_216mhz()) {
    core_clock_hz = PLL_SYSCLK_HZ;
    console_clock_hz = PLL_PCLK1_HZ;
    timer_clock_hz = PLL_TIMER1_HZ;
    pll_running = true;
    return;
  }
  (void)clock_use_hsi();
  core_clock_hz = HSI_HZ;
  console_clock_hz = HSI_HZ; /* clock_use_hsi() leaves APB1 undivided */
  timer_clock_hz = HSI_HZ;
  pll_running = false;
}

/* L1 I-cache on: invalidate all (ICIALLU), then CCR IC, each fenced by DSB/ISB so no
 * fetch sees a stale line or the old CCR (ARMv7-M ARM and Cortex-M7 TRM, cache
 * maintenance operations). */
static void icache_enable(void) {
  if (SCB_CCR & SCB_CCR_IC) {
    return;
  }
  dsb();
  isb();
  SCB_ICIALLU = 0u;
  dsb();
  isb();
  SCB_CCR |= SCB_CCR_IC;
  dsb();
  isb();
}

/* L1 D-cache on. Its contents are random after reset, so every line is invalidated
 * by set/way first: CSSELR selects the L1 data cache, CCSIDR gives its geometry, and
 * DCISW takes the way in bits [31:32-A] and the set in bits [L+S-1:L] (A = log2
 * ways, L = log2 line bytes). Skipped if already on: invalidating would drop dirty
 * lines. */
static void dcache_enable(void) {
  if (SCB_CCR & SCB_CCR_DC) {
    return;
  }
  SCB_CSSELR = SCB_CSSELR_LEVEL1_DATA;
  dsb();
  uint32_t ccsidr = SCB_CCSIDR;
  uint32_t sets = SCB_CCSIDR_NUMSETS(ccsidr) + 1u;
  uint32_t ways = SCB_CCSIDR_ASSOCIATIVITY(ccsidr) + 1u;
  uint32_t set_shift = SCB_CCSIDR_LINESIZE(ccsidr) + 4u; /* log2(words)-2 -> log2 bytes */
  uint32_t way_shift = (ways > 1u) ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
  for (uint32_t way = 0; way < ways; ++way) {
    for (uint32_t set = 0; set < sets; ++set) {
      SCB_DCISW = (way << way_shift) | (set << set_shift);
    }
  }
  dsb();
  SCB_CCR |= SCB_CCR_DC;
  dsb();
  isb();
}

/* DWT CYCCNT: DEMCR TRCENA powers the DWT, the Cortex-M7 DWT ignores writes until its
 * CoreSight LAR is unlocked, then CYCCNT = 0 and DWT_CTRL CYCCNTENA. The counter is
 * trusted only if it moves across a short busy loop (Renode's DWT stub reads 0). */
static void counter_init(void) {
  DEMCR |= DEMCR_TRCENA;
  DWT_LAR = DWT_LAR_UNLOCK;
  if (DWT_CTRL & DWT_CTRL_NOCYCCNT) {
    counter_unit = BOARD_COUNTER_NONE;
    return;
  }
  DWT_CYCCNT = 0u;
  DWT_CTRL |= DWT_CTRL_CYCCNTENA;

  uint32_t start = DWT_CYCCNT;
  for (uint32_t i = 0; i < 64u; ++i) {
    __asm volatile("nop");
  }
  uint32_t end = DWT_CYCCNT;
  counter_unit = (end != start) ? BOARD_COUNTER_CYCLES : BOARD_COUNTER_NONE;
}

static volatile uint32_t millis;

void SysTick_Handler(void);
void SysTick_Handler(void) { millis++; }

/* SysTick from the core clock, one interrupt a millisecond (216,000 cycles at 216 MHz,
 * 16,000 on the HSI fallback: both fit its 24-bit reload). */
static void millis_init(void) {
  millis = 0u;
  SYST_CSR = 0u;
  SYST_RVR = core_clock_hz / 1000u - 1u;
  SYST_CVR = 0u;
  SCB_SHPR3 = (SCB_SHPR3 & ~SCB_SHPR3_SYSTICK_Msk) | SCB_SHPR3_SYSTICK(15u);
  SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint32_t board_millis(void) { return millis; }

/* The independent watchdog as the last resort against a hung main loop: LSI / 32, reload
 * 2000 ticks (about 2 s with the LSI's 32 kHz; RM0410 gives 17-47 kHz, so 1.4-3.8 s). Once
 * started it cannot be stopped; DBGMCU freezes it while a debugger halts the core. */
static void watchdog_init(void) {
  DBGMCU_APB1_FZ |= DBGMCU_APB1_FZ_DBG_IWDG_STOP;
  IWDG_KR = IWDG_KR_START;
  IWDG_KR = IWDG_KR_UNLOCK;
  IWDG_PR = IWDG_PR_DIV32;
  IWDG_RLR = 1999u;
  (void)wait_clear(&IWDG_SR, 3u); /* IWDG_SR PVU | RVU: the new values reached the LSI domain */
  IWDG_KR = IWDG_KR_RELOAD;
}

void board_watchdog_kick(void) { IWDG_KR = IWDG_KR_RELOAD; }

void board_init(void) {
  /* SCB VTOR: at reset it holds the boot address (BOOT_ADD0, by default 0x00200000,
   * the ITCM alias of flash). Exceptions must use the table where the image links. */
  SCB_VTOR = FLASH_AXIM_BASE;
  dsb();
  isb();

  clock_init();
  icache_enable();
  dcache_enable();
  console_init(console_clock_hz);
  counter_init();
  millis_init();
  watchdog_init();
}

/* The potentiometer on PA3 (the Arduino header's A0, CN9 pin 1): ADC1 channel 3, 12 bits,
 * 480-cycle sampling (a 10 kOhm pot between 3.3 V and GND, its wiper on A0), ADCCLK = PCLK2 / 4
 * = 27 MHz: one conversion in about 18 us. Powered on at the first read, so an image that never
 * reads it leaves PA3 and the ADC alone. */
#define POT_PIN 3u
#define POT_CHANNEL 3u
#define POT_SAMPLE_480 7u
static bool pot_on;
static bool pot_valid;
static float pot_position;

static void pot_init(void) {
  RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
  RCC_APB2ENR |= RCC_APB2ENR_ADC1EN;
  (void)RCC_APB2ENR; /* read back: the clocks run before the first register access */
  GPIOA_MODER |= GPIO_MODER_ANALOG(POT_PIN);
  ADC_CCR = (ADC_CCR & ~(3u << 16)) | ADC_CCR_ADCPRE_DIV4;
  ADC1_CR1 = 0u; /* 12 bits, no scan */
  ADC1_SMPR2 = ADC_SMPR2_SMP(POT_CHANNEL, POT_SAMPLE_480);
  ADC1_SQR1 = 0u; /* one conversion */
  ADC1_SQR3 = POT_CHANNEL;
  ADC1_CR2 = ADC_CR2_ADON;
  for (volatile uint32_t i = 0; i < 1000u; ++i) {
    /* tSTAB: the ADC settles (3 us) after ADON before its first conversion */
  }
  ADC1_CR2 = ADC_CR2_ADON | ADC_CR2_SWSTART;
  pot_on = true;
}

bool board_pot_read(uint32_t index, float *position) {
  if (index != 0u) {
    return false;
  }
  if (!pot_on) {
    pot_init();
  }
  if ((ADC1_SR & ADC_SR_EOC) != 0u) {
    pot_position = (float)(ADC1_DR & 0xFFFu) / 4095.0f; /* reading DR clears EOC */
    pot_valid = true;
    ADC1_CR2 = ADC_CR2_ADON | ADC_CR2_SWSTART;
  }
  *position = pot_position;
  return pot_valid;
}

const char *board_name(void) { return "nucleo_f767zi"; }

uint32_t board_core_clock_hz(void) { return core_clock_hz; }

board_counter_unit_t board_counter_unit(void) { return counter_unit; }

uint32_t board_counter_read(void) {
  return (counter_unit == BOARD_COUNTER_CYCLES) ? DWT_CYCCNT : 0u;
}

/* The exit code has nowhere to go on hardware (the host reads the console), so the
 * board stops any audio stream (the DAC would otherwise loop its last buffer meanwhile),
 * lets the console send what it has queued (console_flush) and then requests a system
 * reset: SCB AIRCR with VECTKEY and SYSRESETREQ, PRIGROUP kept as ARMv7-M requires. */
void board_exit(int code) {
  (void)code;
  board_audio_stop();
  console_flush();
  dsb();
  SCB_AIRCR = SCB_AIRCR_VECTKEY | (SCB_AIRCR & SCB_AIRCR_PRIGROUP_Msk) | SCB_AIRCR_SYSRESETREQ;
  dsb();
  for (;;) {
  }
}

/* Vector table (RM0410 "Interrupt and exception vectors"): initial stack pointer,
 * reset, the 14 ARMv7-M system exception slots (0 where reserved), then the
 * STM32F767's 110 external interrupts, IRQ 0 (WWDG) to IRQ 109 (MDIOS), ten to a row.
 * Four have handlers (board_internal.h has their numbers): USART3 (39), TIM6_DAC (54),
 * DMA2 stream 1 (57) and DMA2 stream 5 (68); every other one is the shared spin-forever
 * default, which no enabled interrupt reaches. */
extern uint32_t __stack_top__;
void Reset_Handler(void) __attribute__((noreturn));
void Reset_Handler(void) { startup_run(); }

#define VECTOR_COUNT (16u + 110u)
#define D_ startup_default_handler
#define IRQ_X10 D_, D_, D_, D_, D_, D_, D_, D_, D_, D_

__attribute__((used, section(".isr_vector"))) static void (*const vector_table[])(void) = {
    STARTUP_SYSTEM_VECTORS(&__stack_top__, Reset_Handler, SysTick_Handler),
    IRQ_X10,                                                            /* IRQ 0..9 */
    IRQ_X10,                                                            /* IRQ 10..19 */
    IRQ_X10,                                                            /* IRQ 20..29 */
    D_, D_, D_, D_, D_, D_, D_, D_, D_, USART3_IRQHandler,              /* IRQ 30..39 */
    IRQ_X10,                                                            /* IRQ 40..49 */
    D_, D_, D_, D_, TIM6_DAC_IRQHandler, D_, D_, DMA2_Stream1_IRQHandler, D_, D_, /* 50..59 */
    D_, D_, D_, D_, D_, D_, D_, D_, DMA2_Stream5_IRQHandler, D_,        /* IRQ 60..69 */
    IRQ_X10,                                                            /* IRQ 70..79 */
    IRQ_X10,                                                            /* IRQ 80..89 */
    IRQ_X10,                                                            /* IRQ 90..99 */
    IRQ_X10,                                                            /* IRQ 100..109 */
};

_Static_assert(sizeof(vector_table) / sizeof(vector_table[0]) == VECTOR_COUNT,
               "STM32F767 vector table: 16 system + 110 external entries");
