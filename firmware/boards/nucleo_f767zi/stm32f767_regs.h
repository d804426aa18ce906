/*
 * stm32f767_regs.h - the STM32F767 and Cortex-M7 registers the NUCLEO-F767ZI board
 * code touches, written by hand (there is no ST HAL or CMSIS in this tree).
 *
 * Peripheral names, offsets and bits follow RM0410 (STM32F76xxx/77xxx reference
 * manual); core registers follow the ARMv7-M Architecture Reference Manual (ARM DDI
 * 0403) and the Cortex-M7 TRM / STM32F7 programming manual PM0253. Only what board.c
 * uses is defined: add a register here, with its manual name, when the board needs it.
 *
 * Every register is a macro that expands to a volatile 32-bit lvalue, so register
 * accesses read like the manual: RCC_CR |= RCC_CR_HSEON;
 */
#ifndef VALVENET_STM32F767_REGS_H
#define VALVENET_STM32F767_REGS_H

#include <stdint.h>

#define STM32_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- Memory map (RM0410 2.2.2, Figure 2 "Memory map") -------------------------- */
#define FLASH_AXIM_BASE 0x08000000u /* flash on the AXIM interface: where the image links */
#define TIM6_BASE 0x40001000u       /* TIM6 (APB1) */
#define PWR_BASE 0x40007000u        /* PWR */
#define USART3_BASE 0x40004800u     /* USART3 */
#define SAI1_BASE 0x40015800u       /* SAI1 (APB2) */
#define GPIOA_BASE 0x40020000u      /* GPIOA */
#define GPIOD_BASE 0x40020C00u      /* GPIOD */
#define ADC1_BASE 0x40012000u       /* ADC1 (APB2) */
#define ADC_COMMON_BASE 0x40012300u /* ADC common registers */
#define GPIOE_BASE 0x40021000u      /* GPIOE */
#define RCC_BASE 0x40023800u        /* RCC */
#define FLASH_R_BASE 0x40023C00u    /* Flash interface registers */
#define DMA2_BASE 0x40026400u       /* DMA2 */

/* ---- RCC: reset and clock control (RM0410 5.3) --------------------------------- */
#define RCC_CR STM32_REG32(RCC_BASE + 0x00u)       /* RCC_CR: clock control */
#define RCC_PLLCFGR STM32_REG32(RCC_BASE + 0x04u)  /* RCC_PLLCFGR: main PLL config */
#define RCC_CFGR STM32_REG32(RCC_BASE + 0x08u)     /* RCC_CFGR: clock configuration */
#define RCC_AHB1ENR STM32_REG32(RCC_BASE + 0x30u)  /* RCC_AHB1ENR: AHB1 clock enable */
#define RCC_APB1ENR STM32_REG32(RCC_BASE + 0x40u)  /* RCC_APB1ENR: APB1 clock enable */
#define RCC_APB2ENR STM32_REG32(RCC_BASE + 0x44u)  /* RCC_APB2ENR: APB2 clock enable */
#define RCC_PLLSAICFGR STM32_REG32(RCC_BASE + 0x88u) /* RCC_PLLSAICFGR: PLLSAI config */
#define RCC_DCKCFGR1 STM32_REG32(RCC_BASE + 0x8Cu) /* RCC_DCKCFGR1: kernel clock mux 1 */
#define RCC_DCKCFGR2 STM32_REG32(RCC_BASE + 0x90u) /* RCC_DCKCFGR2: kernel clock mux 2 */

#define RCC_CR_HSION (1u << 0)   /* RCC_CR HSION: HSI 16 MHz RC oscillator on */
#define RCC_CR_HSIRDY (1u << 1)  /* RCC_CR HSIRDY: HSI stable */
#define RCC_CR_HSEON (1u << 16)  /* RCC_CR HSEON: HSE on */
#define RCC_CR_HSERDY (1u << 17) /* RCC_CR HSERDY: HSE ready */
#define RCC_CR_HSEBYP (1u << 18) /* RCC_CR HSEBYP: external clock on OSC_IN, no crystal */
#define RCC_CR_PLLON (1u << 24)  /* RCC_CR PLLON: main PLL on */
#define RCC_CR_PLLRDY (1u << 25) /* RCC_CR PLLRDY: main PLL locked */
#define RCC_CR_PLLI2SON (1u << 26)  /* RCC_CR PLLI2SON: PLLI2S on */
#define RCC_CR_PLLI2SRDY (1u << 27) /* RCC_CR PLLI2SRDY: PLLI2S locked */
#define RCC_CR_PLLSAION (1u << 28)  /* RCC_CR PLLSAION: PLLSAI on */
#define RCC_CR_PLLSAIRDY (1u << 29) /* RCC_CR PLLSAIRDY: PLLSAI locked */

/* RCC_PLLCFGR fields. f(VCO in) = f(src)/PLLM (1..2 MHz), f(VCO out) = f(VCO in) *
 * PLLN (100..432 MHz), SYSCLK = f(VCO out)/PLLP, 48 MHz domain = f(VCO out)/PLLQ. */
#define RCC_PLLCFGR_PLLM_Pos 0u                       /* RCC_PLLCFGR PLLM[5:0]: 2..63 */
#define RCC_PLLCFGR_PLLN_Pos 6u                       /* RCC_PLLCFGR PLLN[8:0]: 50..432 */
#define RCC_PLLCFGR_PLLP_Pos 16u                      /* RCC_PLLCFGR PLLP[1:0] */
#define RCC_PLLCFGR_PLLP_DIV2 (0u << 16)              /* RCC_PLLCFGR PLLP = 00: /2 */
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)             /* RCC_PLLCFGR PLLSRC: 1 = HSE */
#define RCC_PLLCFGR_PLLQ_Pos 24u                      /* RCC_PLLCFGR PLLQ[3:0]: 2..15 */
#define RCC_PLLCFGR_PLLR_Msk (7u << 28)               /* RCC_PLLCFGR PLLR[2:0] (DSI) */
#define RCC_PLLCFGR_PLLM(m) ((uint32_t)(m) << RCC_PLLCFGR_PLLM_Pos)
#define RCC_PLLCFGR_PLLN(n) ((uint32_t)(n) << RCC_PLLCFGR_PLLN_Pos)
#define RCC_PLLCFGR_PLLQ(q) ((uint32_t)(q) << RCC_PLLCFGR_PLLQ_Pos)

#define RCC_CFGR_SW_Msk (3u << 0)        /* RCC_CFGR SW[1:0]: system clock switch */
#define RCC_CFGR_SW_HSI (0u << 0)        /* RCC_CFGR SW = 00: HSI */
#define RCC_CFGR_SW_PLL (2u << 0)        /* RCC_CFGR SW = 10: PLL */
#define RCC_CFGR_SWS_Msk (3u << 2)       /* RCC_CFGR SWS[1:0]: switch status (read only) */
#define RCC_CFGR_SWS_HSI (0u << 2)       /* RCC_CFGR SWS = 00: HSI in use */
#define RCC_CFGR_SWS_PLL (2u << 2)       /* RCC_CFGR SWS = 10: PLL in use */
#define RCC_CFGR_HPRE_Msk (15u << 4)     /* RCC_CFGR HPRE[3:0]: AHB prescaler */
#define RCC_CFGR_HPRE_DIV1 (0u << 4)     /* RCC_CFGR HPRE = 0xxx: HCLK = SYSCLK */
#define RCC_CFGR_PPRE1_Msk (7u << 10)    /* RCC_CFGR PPRE1[2:0]: APB1 prescaler */
#define RCC_CFGR_PPRE1_DIV1 (0u << 10)   /* RCC_CFGR PPRE1 = 0xx: not divided */
#define RCC_CFGR_PPRE1_DIV4 (5u << 10)   /* RCC_CFGR PPRE1 = 101: HCLK/4 (max 54 MHz) */
#define RCC_CFGR_PPRE2_Msk (7u << 13)    /* RCC_CFGR PPRE2[2:0]: APB2 prescaler */
#define RCC_CFGR_PPRE2_DIV1 (0u << 13)   /* RCC_CFGR PPRE2 = 0xx: not divided */
#define RCC_CFGR_PPRE2_DIV2 (4u << 13)   /* RCC_CFGR PPRE2 = 100: HCLK/2 (max 108 MHz) */

#define RCC_AHB1ENR_GPIODEN (1u << 3)    /* RCC_AHB1ENR GPIODEN: GPIO port D clock */
#define RCC_AHB1ENR_GPIOEEN (1u << 4)    /* RCC_AHB1ENR GPIOEEN: GPIO port E clock */
#define RCC_AHB1ENR_DMA2EN (1u << 22)    /* RCC_AHB1ENR DMA2EN: DMA2 clock */
#define RCC_APB1ENR_TIM6EN (1u << 4)     /* RCC_APB1ENR TIM6EN: TIM6 clock */
#define RCC_APB1ENR_USART3EN (1u << 18)  /* RCC_APB1ENR USART3EN: USART3 clock */
#define RCC_APB1ENR_PWREN (1u << 28)     /* RCC_APB1ENR PWREN: power interface clock */
#define RCC_APB2ENR_SAI1EN (1u << 22)    /* RCC_APB2ENR SAI1EN: SAI1 clock */

/* RCC_PLLSAICFGR. PLLSAI shares the main PLL's input, f(src)/PLLM; f(VCO out) = input *
 * PLLSAIN (100..432 MHz); the SAI clock is f(VCO out)/PLLSAIQ/PLLSAIDIVQ (RCC_DCKCFGR1).
 * PLLSAIP (48 MHz domain) and PLLSAIR (LCD) keep their reset values. */
#define RCC_PLLSAICFGR_PLLSAIN_Msk (0x1FFu << 6)  /* PLLSAIN[8:0]: 50..432 */
#define RCC_PLLSAICFGR_PLLSAIN(n) ((uint32_t)(n) << 6)
#define RCC_PLLSAICFGR_PLLSAIQ_Msk (15u << 24)    /* PLLSAIQ[3:0]: 2..15 */
#define RCC_PLLSAICFGR_PLLSAIQ(q) ((uint32_t)(q) << 24)

/* RCC_DCKCFGR1. */
#define RCC_DCKCFGR1_PLLSAIDIVQ_Msk (31u << 8)    /* PLLSAIDIVQ[4:0]: divisor - 1, /1../32 */
#define RCC_DCKCFGR1_PLLSAIDIVQ(d) ((uint32_t)((d) - 1u) << 8)
#define RCC_DCKCFGR1_SAI1SEL_Msk (3u << 20)       /* SAI1SEL[1:0]: SAI1 kernel clock */
#define RCC_DCKCFGR1_SAI1SEL_PLLSAI (0u << 20)    /* SAI1SEL = 00: PLLSAIQ / PLLSAIDIVQ */
#define RCC_DCKCFGR1_TIMPRE (1u << 24) /* TIMPRE: 0 = timers of an APB bus divided by 2 or 4
                                          run at twice that bus's clock */

#define RCC_DCKCFGR2_USART3SEL_Msk (3u << 4)   /* RCC_DCKCFGR2 USART3SEL[1:0] */
#define RCC_DCKCFGR2_USART3SEL_PCLK1 (0u << 4) /* USART3SEL = 00: APB1 clock (PCLK1) */

/* ---- PWR: power controller (RM0410 4.4) ---------------------------------------- */
#define PWR_CR1 STM32_REG32(PWR_BASE + 0x00u)  /* PWR_CR1: power control 1 */
#define PWR_CSR1 STM32_REG32(PWR_BASE + 0x04u) /* PWR_CSR1: power control/status 1 */

#define PWR_CR1_VOS_Msk (3u << 14)    /* PWR_CR1 VOS[1:0]: regulator voltage scaling */
#define PWR_CR1_VOS_SCALE1 (3u << 14) /* PWR_CR1 VOS = 11: scale 1 (needed above 180 MHz) */
#define PWR_CR1_ODEN (1u << 16)       /* PWR_CR1 ODEN: over-drive enable */
#define PWR_CR1_ODSWEN (1u << 17)     /* PWR_CR1 ODSWEN: over-drive switching enable */

#define PWR_CSR1_ODRDY (1u << 16)   /* PWR_CSR1 ODRDY: over-drive mode ready */
#define PWR_CSR1_ODSWRDY (1u << 17) /* PWR_CSR1 ODSWRDY: over-drive switch ready */

/* ---- FLASH interface (RM0410 3.7) ---------------------------------------------- */
#define FLASH_ACR STM32_REG32(FLASH_R_BASE + 0x00u) /* FLASH_ACR: access control */

#define FLASH_ACR_LATENCY_Msk (15u << 0) /* FLASH_ACR LATENCY[3:0]: wait states */
#define FLASH_ACR_LATENCY(ws) ((uint32_t)(ws) << 0)
#define FLASH_ACR_PRFTEN (1u << 8) /* FLASH_ACR PRFTEN: prefetch enable */
#define FLASH_ACR_ARTEN (1u << 9)  /* FLASH_ACR ARTEN: ART accelerator enable */

/* ---- GPIOD (RM0410 6.4); x is the pin number 0..15 ----------------------------- */
#define GPIOD_MODER STM32_REG32(GPIOD_BASE + 0x00u)   /* GPIOx_MODER: pin mode */
#define GPIOD_OTYPER STM32_REG32(GPIOD_BASE + 0x04u)  /* GPIOx_OTYPER: output type */
#define GPIOD_OSPEEDR STM32_REG32(GPIOD_BASE + 0x08u) /* GPIOx_OSPEEDR: output speed */
#define GPIOD_PUPDR STM32_REG32(GPIOD_BASE + 0x0Cu)   /* GPIOx_PUPDR: pull-up/pull-down */
#define GPIOD_AFRH STM32_REG32(GPIOD_BASE + 0x24u)    /* GPIOx_AFRH: AF select, pins 8..15 */

#define GPIO_MODER_Msk(x) (3u << (2u * (x)))    /* GPIOx_MODER MODERy[1:0] */
#define GPIO_MODER_AF(x) (2u << (2u * (x)))     /* MODERy = 10: alternate function */
#define GPIO_OTYPER_OD(x) (1u << (x))           /* GPIOx_OTYPER OTy: 1 = open drain */
#define GPIO_OSPEEDR_Msk(x) (3u << (2u * (x)))  /* GPIOx_OSPEEDR OSPEEDRy[1:0] */
#define GPIO_OSPEEDR_HIGH(x) (2u << (2u * (x))) /* OSPEEDRy = 10: high speed */
#define GPIO_OSPEEDR_VERY_HIGH(x) (3u << (2u * (x))) /* OSPEEDRy = 11: very high speed */
#define GPIO_PUPDR_Msk(x) (3u << (2u * (x)))    /* GPIOx_PUPDR PUPDRy[1:0] */
#define GPIO_PUPDR_UP(x) (1u << (2u * (x)))     /* PUPDRy = 01: pull-up */
#define GPIO_PUPDR_DOWN(x) (2u << (2u * (x)))   /* PUPDRy = 10: pull-down */
#define GPIO_AFRL_Msk(x) (15u << (4u * (x)))                  /* AFRL AFRy[3:0], pins 0..7 */
#define GPIO_AFRL_AF(x, af) ((uint32_t)(af) << (4u * (x)))    /* AFRy = af */
#define GPIO_AFRH_Msk(x) (15u << (4u * ((x) - 8u)))               /* AFRH AFRy[3:0] */
#define GPIO_AFRH_AF(x, af) ((uint32_t)(af) << (4u * ((x) - 8u))) /* AFRy = af */

/* ---- GPIOA (RM0410 6.4): PA3, the potentiometer (analog); bits as for GPIOD ----- */
#define GPIOA_MODER STM32_REG32(GPIOA_BASE + 0x00u) /* GPIOx_MODER */
#define GPIO_MODER_ANALOG(x) (3u << (2u * (x)))     /* MODERy = 11: analog */

/* ---- ADC1 (RM0410 15.13): one regular conversion, software start ---------------- */
#define ADC1_SR STM32_REG32(ADC1_BASE + 0x00u)    /* ADC_SR: status */
#define ADC1_CR1 STM32_REG32(ADC1_BASE + 0x04u)   /* ADC_CR1: control 1 (RES = 00: 12 bits) */
#define ADC1_CR2 STM32_REG32(ADC1_BASE + 0x08u)   /* ADC_CR2: control 2 */
#define ADC1_SMPR2 STM32_REG32(ADC1_BASE + 0x10u) /* ADC_SMPR2: sample time, channels 0..9 */
#define ADC1_SQR1 STM32_REG32(ADC1_BASE + 0x2Cu)  /* ADC_SQR1: L[3:0] = conversions - 1 */
#define ADC1_SQR3 STM32_REG32(ADC1_BASE + 0x34u)  /* ADC_SQR3: SQ1[4:0], the first channel */
#define ADC1_DR STM32_REG32(ADC1_BASE + 0x4Cu)    /* ADC_DR: regular data */
#define ADC_CCR STM32_REG32(ADC_COMMON_BASE + 0x04u) /* ADC_CCR: common control */

#define ADC_SR_EOC (1u << 1)           /* ADC_SR EOC: regular conversion finished */
#define ADC_CR2_ADON (1u << 0)         /* ADC_CR2 ADON: ADC on */
#define ADC_CR2_SWSTART (1u << 30)     /* ADC_CR2 SWSTART: start a regular conversion */
#define ADC_SMPR2_SMP(ch, v) ((uint32_t)(v) << (3u * (ch))) /* SMPx[2:0]; 7 = 480 cycles */
#define ADC_CCR_ADCPRE_DIV4 (1u << 16) /* ADC_CCR ADCPRE = 01: ADCCLK = PCLK2 / 4 */
#define RCC_AHB1ENR_GPIOAEN (1u << 0)  /* RCC_AHB1ENR GPIOAEN */
#define RCC_APB2ENR_ADC1EN (1u << 8)   /* RCC_APB2ENR ADC1EN */

/* ---- GPIOE (RM0410 6.4), the SAI1 pins; bits as for GPIOD above --------------- */
#define GPIOE_MODER STM32_REG32(GPIOE_BASE + 0x00u)   /* GPIOx_MODER */
#define GPIOE_OTYPER STM32_REG32(GPIOE_BASE + 0x04u)  /* GPIOx_OTYPER */
#define GPIOE_OSPEEDR STM32_REG32(GPIOE_BASE + 0x08u) /* GPIOx_OSPEEDR */
#define GPIOE_PUPDR STM32_REG32(GPIOE_BASE + 0x0Cu)   /* GPIOx_PUPDR */
#define GPIOE_AFRL STM32_REG32(GPIOE_BASE + 0x20u)    /* GPIOx_AFRL: AF select, pins 0..7 */

/* ---- USART3 (RM0410 34.8) ------------------------------------------------------ */
#define USART3_CR1 STM32_REG32(USART3_BASE + 0x00u) /* USART_CR1: control 1 */
#define USART3_CR2 STM32_REG32(USART3_BASE + 0x04u) /* USART_CR2: control 2 */
#define USART3_CR3 STM32_REG32(USART3_BASE + 0x08u) /* USART_CR3: control 3 */
#define USART3_BRR STM32_REG32(USART3_BASE + 0x0Cu) /* USART_BRR: baud rate */
#define USART3_ISR STM32_REG32(USART3_BASE + 0x1Cu) /* USART_ISR: interrupt and status */
#define USART3_ICR STM32_REG32(USART3_BASE + 0x20u) /* USART_ICR: interrupt flag clear */
#define USART3_RDR STM32_REG32(USART3_BASE + 0x24u) /* USART_RDR: receive data */
#define USART3_TDR STM32_REG32(USART3_BASE + 0x28u) /* USART_TDR: transmit data */

#define USART_CR1_UE (1u << 0)     /* USART_CR1 UE: USART enable */
#define USART_CR1_RE (1u << 2)     /* USART_CR1 RE: receiver enable */
#define USART_CR1_TE (1u << 3)     /* USART_CR1 TE: transmitter enable */
#define USART_CR1_RXNEIE (1u << 5) /* USART_CR1 RXNEIE: interrupt on RXNE or ORE */
#define USART_CR1_TXEIE (1u << 7)  /* USART_CR1 TXEIE: interrupt on TXE */
#define USART_CR1_OVER8 (1u << 15) /* USART_CR1 OVER8: 0 = 16x, 1 = 8x oversampling */

#define USART_ISR_PE (1u << 0)   /* USART_ISR PE: parity error */
#define USART_ISR_FE (1u << 1)   /* USART_ISR FE: framing error */
#define USART_ISR_NF (1u << 2)   /* USART_ISR NF: start bit noise detected */
#define USART_ISR_ORE (1u << 3)  /* USART_ISR ORE: overrun error */
#define USART_ISR_RXNE (1u << 5) /* USART_ISR RXNE: RDR holds a received byte */
#define USART_ISR_TC (1u << 6)   /* USART_ISR TC: transmission complete (line idle) */
#define USART_ISR_TXE (1u << 7)  /* USART_ISR TXE: TDR empty, next byte may be written */

#define USART_ICR_PECF (1u << 0)  /* USART_ICR PECF: clears PE */
#define USART_ICR_FECF (1u << 1)  /* USART_ICR FECF: clears FE */
#define USART_ICR_NCF (1u << 2)   /* USART_ICR NCF: clears NF */
#define USART_ICR_ORECF (1u << 3) /* USART_ICR ORECF: clears ORE */

/* ---- TIM6, basic timer (RM0410 "Basic timers (TIM6/TIM7)"); counter clock = timer
 * clock / (PSC + 1), update event every ARR + 1 counts; PSC and ARR are 16 bits. ------ */
#define TIM6_CR1 STM32_REG32(TIM6_BASE + 0x00u)  /* TIMx_CR1: control 1 */
#define TIM6_DIER STM32_REG32(TIM6_BASE + 0x0Cu) /* TIMx_DIER: DMA/interrupt enable */
#define TIM6_SR STM32_REG32(TIM6_BASE + 0x10u)   /* TIMx_SR: status */
#define TIM6_EGR STM32_REG32(TIM6_BASE + 0x14u)  /* TIMx_EGR: event generation */
#define TIM6_PSC STM32_REG32(TIM6_BASE + 0x28u)  /* TIMx_PSC: prescaler (preloaded) */
#define TIM6_ARR STM32_REG32(TIM6_BASE + 0x2Cu)  /* TIMx_ARR: auto-reload */

#define TIM_CR1_CEN (1u << 0)   /* TIMx_CR1 CEN: counter enable */
#define TIM_CR1_URS (1u << 2)   /* TIMx_CR1 URS: only overflow sets UIF (not UG) */
#define TIM_DIER_UIE (1u << 0)  /* TIMx_DIER UIE: update interrupt enable */
#define TIM_SR_UIF (1u << 0)    /* TIMx_SR UIF: update interrupt flag, rc_w0 */
#define TIM_EGR_UG (1u << 0)    /* TIMx_EGR UG: re-initialise counter, load PSC */

/* ---- DMA2 (RM0410 8.5); x is the stream number 0..7 --------------------------- */
#define DMA2_LISR STM32_REG32(DMA2_BASE + 0x00u)  /* DMA_LISR: flags of streams 0..3 */
#define DMA2_HISR STM32_REG32(DMA2_BASE + 0x04u)  /* DMA_HISR: flags of streams 4..7 */
#define DMA2_LIFCR STM32_REG32(DMA2_BASE + 0x08u) /* DMA_LIFCR: clear flags of streams 0..3 */
#define DMA2_HIFCR STM32_REG32(DMA2_BASE + 0x0Cu) /* DMA_HIFCR: clear flags of streams 4..7 */
#define DMA2_SxCR(x) STM32_REG32(DMA2_BASE + 0x10u + 0x18u * (x))   /* DMA_SxCR: config */
#define DMA2_SxNDTR(x) STM32_REG32(DMA2_BASE + 0x14u + 0x18u * (x)) /* DMA_SxNDTR: items */
#define DMA2_SxPAR(x) STM32_REG32(DMA2_BASE + 0x18u + 0x18u * (x))  /* DMA_SxPAR: periph. */
#define DMA2_SxM0AR(x) STM32_REG32(DMA2_BASE + 0x1Cu + 0x18u * (x)) /* DMA_SxM0AR: memory */
#define DMA2_SxFCR(x) STM32_REG32(DMA2_BASE + 0x24u + 0x18u * (x))  /* DMA_SxFCR: FIFO */
#define DMA2_ISR_OF(x) STM32_REG32(DMA2_BASE + ((x) < 4u ? 0x00u : 0x04u))  /* LISR or HISR */
#define DMA2_IFCR_OF(x) STM32_REG32(DMA2_BASE + ((x) < 4u ? 0x08u : 0x0Cu)) /* LIFCR or HIFCR */

/* A stream's six flag bits sit at bit 0, 6, 16 or 22 of LISR/HISR (and LIFCR/HIFCR). */
#define DMA_FLAGS_SHIFT(x) ((((x) & 2u) ? 16u : 0u) + (((x) & 1u) ? 6u : 0u))
#define DMA_FLAG_FEIF (1u << 0)  /* FEIFx: FIFO error (direct mode: overrun/underrun) */
#define DMA_FLAG_DMEIF (1u << 2) /* DMEIFx: direct mode error */
#define DMA_FLAG_TEIF (1u << 3)  /* TEIFx: transfer error (the stream is disabled) */
#define DMA_FLAG_HTIF (1u << 4)  /* HTIFx: half transfer */
#define DMA_FLAG_TCIF (1u << 5)  /* TCIFx: transfer complete */
#define DMA_FLAGS_ALL \
  (DMA_FLAG_FEIF | DMA_FLAG_DMEIF | DMA_FLAG_TEIF | DMA_FLAG_HTIF | DMA_FLAG_TCIF)

#define DMA_SxCR_EN (1u << 0)           /* DMA_SxCR EN: stream enable (reads 1 until stopped) */
#define DMA_SxCR_DMEIE (1u << 1)        /* DMA_SxCR DMEIE: direct mode error interrupt */
#define DMA_SxCR_TEIE (1u << 2)         /* DMA_SxCR TEIE: transfer error interrupt */
#define DMA_SxCR_HTIE (1u << 3)         /* DMA_SxCR HTIE: half transfer interrupt */
#define DMA_SxCR_TCIE (1u << 4)         /* DMA_SxCR TCIE: transfer complete interrupt */
#define DMA_SxCR_DIR_P2M (0u << 6)      /* DMA_SxCR DIR = 00: peripheral to memory */
#define DMA_SxCR_DIR_M2P (1u << 6)      /* DMA_SxCR DIR = 01: memory to peripheral */
#define DMA_SxCR_CIRC (1u << 8)         /* DMA_SxCR CIRC: circular mode */
#define DMA_SxCR_MINC (1u << 10)        /* DMA_SxCR MINC: memory address increments */
#define DMA_SxCR_PSIZE_32 (2u << 11)    /* DMA_SxCR PSIZE = 10: 32-bit peripheral items */
#define DMA_SxCR_MSIZE_32 (2u << 13)    /* DMA_SxCR MSIZE = 10: 32-bit memory items */
#define DMA_SxCR_PL_VERY_HIGH (3u << 16) /* DMA_SxCR PL = 11: very high priority */
#define DMA_SxCR_CHSEL(c) ((uint32_t)(c) << 25) /* DMA_SxCR CHSEL[3:0]: request channel */
#define DMA_SxFCR_FEIE (1u << 7)        /* DMA_SxFCR FEIE: FIFO error interrupt (DMDIS = 0:
                                           direct mode, the reset value) */

/* ---- SAI1 (RM0410 "Serial audio interface (SAI)"); b = 0 for block A, 1 for block B - */
#define SAI1_GCR STM32_REG32(SAI1_BASE + 0x00u)                    /* SAI_GCR: global config */
#define SAI1_xCR1(b) STM32_REG32(SAI1_BASE + 0x04u + 0x20u * (b))   /* SAI_xCR1: config 1 */
#define SAI1_xCR2(b) STM32_REG32(SAI1_BASE + 0x08u + 0x20u * (b))   /* SAI_xCR2: config 2 */
#define SAI1_xFRCR(b) STM32_REG32(SAI1_BASE + 0x0Cu + 0x20u * (b))  /* SAI_xFRCR: frame */
#define SAI1_xSLOTR(b) STM32_REG32(SAI1_BASE + 0x10u + 0x20u * (b)) /* SAI_xSLOTR: slots */
#define SAI1_xIM(b) STM32_REG32(SAI1_BASE + 0x14u + 0x20u * (b))    /* SAI_xIM: interrupts */
#define SAI1_xSR(b) STM32_REG32(SAI1_BASE + 0x18u + 0x20u * (b))    /* SAI_xSR: status */
#define SAI1_xCLRFR(b) STM32_REG32(SAI1_BASE + 0x1Cu + 0x20u * (b)) /* SAI_xCLRFR: clear */
#define SAI1_xDR_ADDR(b) (SAI1_BASE + 0x20u + 0x20u * (b))         /* SAI_xDR: data (FIFO) */

#define SAI_CR1_MODE_MASTER_TX (0u << 0) /* SAI_xCR1 MODE = 00: master transmitter */
#define SAI_CR1_MODE_SLAVE_RX (3u << 0)  /* SAI_xCR1 MODE = 11: slave receiver */
#define SAI_CR1_PRTCFG_FREE (0u << 2)    /* SAI_xCR1 PRTCFG = 00: free protocol */
#define SAI_CR1_DS_32 (7u << 5)          /* SAI_xCR1 DS = 111: 32-bit data */
#define SAI_CR1_CKSTR (1u << 9)          /* SAI_xCR1 CKSTR: drive on SCK fall, sample on rise */
#define SAI_CR1_SYNCEN_INTERNAL (1u << 10) /* SAI_xCR1 SYNCEN = 01: clocked by the other block */
#define SAI_CR1_SAIEN (1u << 16)         /* SAI_xCR1 SAIEN: block enable (reads 1 to frame end) */
#define SAI_CR1_DMAEN (1u << 17)         /* SAI_xCR1 DMAEN: DMA requests */
#define SAI_CR1_MCKDIV(d) ((uint32_t)(d) << 20) /* SAI_xCR1 MCKDIV[3:0]: 0 -> /1, d -> /(2d) */

#define SAI_CR2_FTH_QUARTER (1u << 0)    /* SAI_xCR2 FTH = 001: FIFO threshold 1/4 */
#define SAI_CR2_FFLUSH (1u << 3)         /* SAI_xCR2 FFLUSH: empty the FIFO (block disabled) */

#define SAI_FRCR_FRL(bits) ((uint32_t)((bits) - 1u) << 0)    /* FRL[7:0]: frame length - 1 */
#define SAI_FRCR_FSALL(bits) ((uint32_t)((bits) - 1u) << 8)  /* FSALL[6:0]: FS active - 1 */
#define SAI_FRCR_FSDEF (1u << 16)   /* FSDEF: FS marks the frame start and the channel side */
#define SAI_FRCR_FSPOL_LOW (0u << 17) /* FSPOL = 0: FS active low (falling edge) */
#define SAI_FRCR_FSOFF (1u << 18)   /* FSOFF: FS asserted one bit before slot 0's first bit */

#define SAI_SLOTR_FBOFF(n) ((uint32_t)(n) << 0)            /* FBOFF[4:0]: first bit offset */
#define SAI_SLOTR_SLOTSZ_32 (2u << 6)                       /* SLOTSZ = 10: 32-bit slots */
#define SAI_SLOTR_NBSLOT(n) ((uint32_t)((n) - 1u) << 8)     /* NBSLOT[3:0]: slots - 1 */
#define SAI_SLOTR_SLOTEN(mask) ((uint32_t)(mask) << 16)     /* SLOTEN[15:0]: active slots */

#define SAI_SR_OVRUDR (1u << 0)       /* SAI_xSR OVRUDR: FIFO overrun (RX) / underrun (TX) */
#define SAI_SR_FLVL_Msk (7u << 16)    /* SAI_xSR FLVL[2:0]: FIFO level, 000 = empty */
#define SAI_CLRFR_ALL 0x77u           /* SAI_xCLRFR: every clear bit (bits 0-2, 4-6) */
#define SAI_CLRFR_COVRUDR (1u << 0)   /* SAI_xCLRFR COVRUDR: clears OVRUDR */

/* ---- NVIC (ARMv7-M ARM B3.4; PM0253 "Nested vectored interrupt controller": the STM32F7
 * implements 4 priority bits, IPR bits [7:4], 0 = most urgent). n is the IRQ number of
 * RM0410 "Interrupt and exception vectors". ------------------------------------------ */
#define NVIC_ISER(n) STM32_REG32(0xE000E100u + 4u * ((n) >> 5)) /* ISERx: set-enable */
#define NVIC_ICER(n) STM32_REG32(0xE000E180u + 4u * ((n) >> 5)) /* ICERx: clear-enable */
#define NVIC_ICPR(n) STM32_REG32(0xE000E280u + 4u * ((n) >> 5)) /* ICPRx: clear-pending */
#define NVIC_IPR(n) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (n))) /* IPRn byte */
#define NVIC_BIT(n) (1u << ((n) & 31u))      /* IRQ n's bit in ISERx/ICERx/ICPRx */
#define NVIC_PRIORITY(level) ((uint8_t)((level) << 4)) /* level 0..15 into IPR bits [7:4] */

/* ---- SysTick (ARMv7-M ARM B3.3): CSR, RVR (24 bits), CVR ------------------------ */
#define SYST_CSR STM32_REG32(0xE000E010u)
#define SYST_RVR STM32_REG32(0xE000E014u)
#define SYST_CVR STM32_REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2) /* the processor clock (HCLK) */

/* ---- Cortex-M7 System Control Block (ARMv7-M ARM B3.2 and CPUID scheme; PM0253) - */
#define SCB_VTOR STM32_REG32(0xE000ED08u)   /* VTOR: vector table offset (B3.2.5) */
#define SCB_AIRCR STM32_REG32(0xE000ED0Cu)  /* AIRCR: app. interrupt/reset ctrl (B3.2.6) */
#define SCB_CCR STM32_REG32(0xE000ED14u)    /* CCR: configuration and control (B3.2.8) */
#define SCB_SHPR3 STM32_REG32(0xE000ED20u)  /* SHPR3: PendSV [23:16], SysTick [31:24] priority */
#define SCB_SHPR3_SYSTICK_Msk (0xFFu << 24)
#define SCB_SHPR3_SYSTICK(level) ((uint32_t)NVIC_PRIORITY(level) << 24)
#define SCB_CCSIDR STM32_REG32(0xE000ED80u) /* CCSIDR: cache size ID, of CSSELR's cache */
#define SCB_CSSELR STM32_REG32(0xE000ED84u) /* CSSELR: cache size selection */

/* Cache maintenance operations (ARMv7-M ARM, Cortex-M7 TRM): write-only registers. */
#define SCB_ICIALLU STM32_REG32(0xE000EF50u) /* ICIALLU: invalidate all I-cache to PoU */
#define SCB_DCISW STM32_REG32(0xE000EF60u)   /* DCISW: invalidate D-cache line by set/way */
#define SCB_DCCISW STM32_REG32(0xE000EF74u)  /* DCCISW: clean+invalidate line by set/way */

#define SCB_AIRCR_VECTKEY (0x05FAu << 16)       /* AIRCR VECTKEY: write key */
#define SCB_AIRCR_PRIGROUP_Msk (7u << 8)        /* AIRCR PRIGROUP: kept across reset req */
#define SCB_AIRCR_SYSRESETREQ (1u << 2)         /* AIRCR SYSRESETREQ: request system reset */

#define SCB_CCR_DC (1u << 16) /* CCR DC: L1 data cache enable */
#define SCB_CCR_IC (1u << 17) /* CCR IC: L1 instruction cache enable */

#define SCB_CSSELR_LEVEL1_DATA 0u /* CSSELR Level = 0 (L1), InD = 0 (data/unified) */

#define SCB_CCSIDR_LINESIZE(r) ((r) & 7u)               /* CCSIDR LineSize: log2(words)-2 */
#define SCB_CCSIDR_ASSOCIATIVITY(r) (((r) >> 3) & 0x3FFu) /* CCSIDR Associativity: ways-1 */
#define SCB_CCSIDR_NUMSETS(r) (((r) >> 13) & 0x7FFFu)   /* CCSIDR NumSets: sets-1 */

/* ---- Debug: DEMCR and the DWT cycle counter (ARMv7-M ARM C1.6, C1.8) ---------- */
#define DEMCR STM32_REG32(0xE000EDFCu)     /* DEMCR: debug exception and monitor control */
#define DWT_CTRL STM32_REG32(0xE0001000u)  /* DWT_CTRL: DWT control */
#define DWT_CYCCNT STM32_REG32(0xE0001004u) /* DWT_CYCCNT: cycle count */
#define DWT_LAR STM32_REG32(0xE0001FB0u)   /* DWT_LAR: CoreSight lock access (Cortex-M7 TRM) */

#define DEMCR_TRCENA (1u << 24)       /* DEMCR TRCENA: power the DWT and ITM */
#define DWT_CTRL_CYCCNTENA (1u << 0)  /* DWT_CTRL CYCCNTENA: run CYCCNT */
#define DWT_CTRL_NOCYCCNT (1u << 25)  /* DWT_CTRL NOCYCCNT: 1 = no cycle counter */
#define DWT_LAR_UNLOCK 0xC5ACCE55u    /* CoreSight key that unlocks DWT register writes */

/* IWDG (RM0410 "Independent watchdog"), clocked by the ~32 kHz LSI. */
#define IWDG_BASE 0x40003000u
#define IWDG_KR STM32_REG32(IWDG_BASE + 0x00u)  /* IWDG_KR: key */
#define IWDG_PR STM32_REG32(IWDG_BASE + 0x04u)  /* IWDG_PR: prescaler */
#define IWDG_RLR STM32_REG32(IWDG_BASE + 0x08u) /* IWDG_RLR: reload */
#define IWDG_SR STM32_REG32(IWDG_BASE + 0x0Cu)  /* IWDG_SR: PVU/RVU update flags */
#define IWDG_KR_START 0xCCCCu                   /* starts the watchdog (and the LSI) */
#define IWDG_KR_UNLOCK 0x5555u                  /* enables writes to PR and RLR */
#define IWDG_KR_RELOAD 0xAAAAu                  /* reloads the counter from RLR */
#define IWDG_PR_DIV32 3u                        /* PR = 011: LSI / 32, ~1 ms per tick */

/* DBGMCU_APB1_FZ DBG_IWDG_STOP: the watchdog halts while a debugger halts the core. */
#define DBGMCU_APB1_FZ STM32_REG32(0xE0042008u)
#define DBGMCU_APB1_FZ_DBG_IWDG_STOP (1u << 12)

#endif /* VALVENET_STM32F767_REGS_H */
