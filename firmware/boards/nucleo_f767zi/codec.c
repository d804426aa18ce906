/*
 * codec.c - BOARD_AUDIO_CODEC on the NUCLEO-F767ZI: SAI1 to an I2S ADC + DAC pair that takes
 * MCLK (docs/pedal.md, "Wiring the NUCLEO-F767ZI"), fed by circular DMA2.
 *
 * Clock: PLLSAI makes the SAI1 kernel clock, 256 x fs (audio_math.c has the settings and the
 * rates they give); block A outputs it as MCLK (NODIV = 0, MCKDIV = 0: /1) and divides it
 * into SCK = 64 x fs and FS = fs (RM0410 "SAI clock generator").
 * Format: I2S Philips on the SAI's free protocol: 64-bit frames of 2 slots of 32 bits, FS low
 * during the left slot (slot 0) and asserted one SCK before its first bit, MSB first, data
 * changing on SCK falling edges and sampled on rising ones (CKSTR = 1, both blocks). DS = 32:
 * the slot moves whole, so memory holds left-aligned words whose top 24 bits are the
 * converters' samples (audio_math.h).
 * Blocks: A is the master transmitter (MCLK, SCK, FS, SD_A to the DAC); B receives SD_B from
 * the ADC as a slave synchronous with A (SYNCEN = 01), so both run off one frame clock.
 * DMA (RM0410 "DMA2 request mapping"): stream 1 channel 0 = SAI1_A, memory to SAI; stream 5
 * channel 0 = SAI1_B, SAI to memory (stream 3 channel 0 and stream 4 channel 1 are the other
 * choices). Both circular over 2 halves x block frames x 2 slots, 32-bit items, direct mode.
 * The transmitter starts first, from silence, and both advance one word per slot in lockstep:
 * the RX stream's half-transfer (half 0) and transfer-complete (half 1) interrupts are the
 * block events. When RX half h is complete, TX has just finished reading half h as well: it
 * is free until the next event. The FIFOs make that deadline a little early: the DMA reads a
 * word at most 9 slots (the SAI's 8-word FIFO and the DMA's one word; under 5 frames, 94 us at
 * 48 kHz) before the SAI shifts it out.
 * Buffers in DTCM: the Cortex-M7 never caches its TCMs, and DMA2 reaches DTCM through the
 * core's AHBS port (RM0410 "System architecture"), so with the D-cache on neither side ever
 * sees stale data and no cache maintenance is needed; the CPU also reads them at zero wait.
 * Errors (board_audio_errors): DMA transfer, FIFO and direct mode errors by interrupt; SAI
 * overrun/underrun (OVRUDR) checked once per block event, so a persistent fault counts once
 * per block, not once per sample; a late block interrupt (a half gone unreported).
 */
#include "firmware/boards/board.h"
#include "firmware/boards/nucleo_f767zi/audio_math.h"
#include "firmware/boards/nucleo_f767zi/board_internal.h"
#include "firmware/boards/nucleo_f767zi/stm32f767_regs.h"

#define TX_STREAM 1u /* DMA2 stream 1: SAI1_A */
#define RX_STREAM 5u /* DMA2 stream 5: SAI1_B */
#define SAI_DMA_CHANNEL 0u
#define BLOCK_A 0u
#define BLOCK_B 1u

#define SLOTS 2u
#define SLOT_BITS 32u
#define RING_WORDS (2u * BOARD_AUDIO_MAX_BLOCK * SLOTS)

/* The TX DMA loads the SAI FIFO (8 words) in well under 1 us; 1000 polls of a SAI register
 * take >= 18 us. */
#define SAI_FIFO_POLLS 1000u

/* SAI1 pins, all AF6 (STM32F767xx datasheet, alternate function table), on the NUCLEO-144's
 * Zio connector CN9 (UM1974): */
#define PIN_MCLK_A 2u /* PE2, CN9-14 */
#define PIN_SD_B 3u   /* PE3, CN9-22 */
#define PIN_FS_A 4u   /* PE4, CN9-16 */
#define PIN_SCK_A 5u  /* PE5, CN9-18 */
#define PIN_SD_A 6u   /* PE6, CN9-20 */
#define SAI1_AF 6u

#define DMA_SAI_CONFIG                                                                   \
  (DMA_SxCR_CHSEL(SAI_DMA_CHANNEL) | DMA_SxCR_PL_VERY_HIGH | DMA_SxCR_MSIZE_32 |        \
   DMA_SxCR_PSIZE_32 | DMA_SxCR_MINC | DMA_SxCR_CIRC | DMA_SxCR_TEIE | DMA_SxCR_DMEIE)
#define DMA_TX_CONFIG (DMA_SAI_CONFIG | DMA_SxCR_DIR_M2P)
#define DMA_RX_CONFIG (DMA_SAI_CONFIG | DMA_SxCR_DIR_P2M | DMA_SxCR_HTIE | DMA_SxCR_TCIE)

static volatile int32_t rx_ring[RING_WORDS] __attribute__((section(".dtcm_bss"), aligned(32)));
static volatile int32_t tx_ring[RING_WORDS] __attribute__((section(".dtcm_bss"), aligned(32)));
static uint32_t block_frames;          /* frames per half of the running stream */
static volatile uint32_t next_half;    /* the half the next block event reports */

static uint32_t ring_words(void) { return 2u * block_frames * SLOTS; }

static volatile int32_t *half_words(volatile int32_t *ring, uint32_t half) {
  return ring + (half & 1u) * block_frames * SLOTS;
}

/* ---- PLLSAI -------------------------------------------------------------------------------------
 * RM0410 "RCC PLLSAI configuration register": PLLSAIN and PLLSAIQ may change only with PLLSAI
 * off. RCC_DCKCFGR1 PLLSAIDIVQ divides its Q output, SAI1SEL = 00 routes that to SAI1. */

static bool pllsai_start(const audio_codec_clock_t *clock) {
  RCC_CR &= ~RCC_CR_PLLSAION;
  if (!wait_clear(&RCC_CR, RCC_CR_PLLSAIRDY)) {
    return false;
  }
  RCC_PLLSAICFGR = (RCC_PLLSAICFGR & ~(RCC_PLLSAICFGR_PLLSAIN_Msk | RCC_PLLSAICFGR_PLLSAIQ_Msk)) |
                   RCC_PLLSAICFGR_PLLSAIN(clock->plln) | RCC_PLLSAICFGR_PLLSAIQ(clock->pllq);
  RCC_DCKCFGR1 = (RCC_DCKCFGR1 & ~(RCC_DCKCFGR1_PLLSAIDIVQ_Msk | RCC_DCKCFGR1_SAI1SEL_Msk)) |
                 RCC_DCKCFGR1_PLLSAIDIVQ(clock->divq) | RCC_DCKCFGR1_SAI1SEL_PLLSAI;
  RCC_CR |= RCC_CR_PLLSAION;
  return wait_set(&RCC_CR, RCC_CR_PLLSAIRDY);
}

static void pllsai_stop(void) { RCC_CR &= ~RCC_CR_PLLSAION; }

/* ---- Pins ------------------------------------------------------------------------------------ */

/* AFRL before MODER, so the pin never drives another function; push-pull; very high speed
 * for the 11-12 MHz MCLK edges. */
static void pin_init(uint32_t pin, uint32_t pull) {
  GPIOE_AFRL = (GPIOE_AFRL & ~GPIO_AFRL_Msk(pin)) | GPIO_AFRL_AF(pin, SAI1_AF);
  GPIOE_OTYPER &= ~GPIO_OTYPER_OD(pin);
  GPIOE_OSPEEDR = (GPIOE_OSPEEDR & ~GPIO_OSPEEDR_Msk(pin)) | GPIO_OSPEEDR_VERY_HIGH(pin);
  GPIOE_PUPDR = (GPIOE_PUPDR & ~GPIO_PUPDR_Msk(pin)) | pull;
  GPIOE_MODER = (GPIOE_MODER & ~GPIO_MODER_Msk(pin)) | GPIO_MODER_AF(pin);
}

/* SD_B gets a pull-down: with no ADC plugged in, the input reads silence rather than noise. */
static void pins_init(void) {
  nucleo_clock_enable(&RCC_AHB1ENR, RCC_AHB1ENR_GPIOEEN);
  pin_init(PIN_MCLK_A, 0u);
  pin_init(PIN_FS_A, 0u);
  pin_init(PIN_SCK_A, 0u);
  pin_init(PIN_SD_A, 0u);
  pin_init(PIN_SD_B, GPIO_PUPDR_DOWN(PIN_SD_B));
}

/* ---- SAI1 ------------------------------------------------------------------------------------ */

#define SAI_SLOTS_CONFIG                                                                 \
  (SAI_SLOTR_FBOFF(0u) | SAI_SLOTR_SLOTSZ_32 | SAI_SLOTR_NBSLOT(SLOTS) |                 \
   SAI_SLOTR_SLOTEN((1u << SLOTS) - 1u))

/* A block's configuration, written while it is disabled (SAIEN = 0); role carries MODE and
 * the role-specific fields. FIFO threshold 1/4 (2 words) as ST's own audio code uses; FFLUSH
 * empties the FIFO of any previous stream. */
static void sai_block_init(uint32_t block, uint32_t role) {
  SAI1_xCR1(block) = role | SAI_CR1_PRTCFG_FREE | SAI_CR1_DS_32 | SAI_CR1_CKSTR;
  SAI1_xCR2(block) = SAI_CR2_FTH_QUARTER | SAI_CR2_FFLUSH;
  SAI1_xFRCR(block) = SAI_FRCR_FRL(SLOTS * SLOT_BITS) | SAI_FRCR_FSALL(SLOT_BITS) |
                      SAI_FRCR_FSDEF | SAI_FRCR_FSPOL_LOW | SAI_FRCR_FSOFF;
  SAI1_xSLOTR(block) = SAI_SLOTS_CONFIG;
  SAI1_xIM(block) = 0u;
  SAI1_xCLRFR(block) = SAI_CLRFR_ALL;
}

/* SAI_GCR = 0: no synchronisation with SAI2 (written with both blocks disabled). False when
 * the configuration does not read back: no SAI there (Renode models none; its unmapped
 * addresses read 0), so nothing else is tried. */
static bool sai_init(const audio_codec_clock_t *clock) {
  nucleo_clock_enable(&RCC_APB2ENR, RCC_APB2ENR_SAI1EN);
  SAI1_GCR = 0u;
  sai_block_init(BLOCK_A, SAI_CR1_MODE_MASTER_TX | SAI_CR1_MCKDIV(clock->mckdiv));
  sai_block_init(BLOCK_B, SAI_CR1_MODE_SLAVE_RX | SAI_CR1_SYNCEN_INTERNAL);
  return SAI1_xSLOTR(BLOCK_A) == SAI_SLOTS_CONFIG && SAI1_xSLOTR(BLOCK_B) == SAI_SLOTS_CONFIG;
}

static bool sai_fifo_loaded(uint32_t block) {
  for (uint32_t i = 0; i < SAI_FIFO_POLLS; ++i) {
    if ((SAI1_xSR(block) & SAI_SR_FLVL_Msk) != 0u) {
      return true;
    }
  }
  return false;
}

/* DMA requests on (the DMA streams already run), then the blocks: A's FIFO is loaded first,
 * so its first frame already carries data (a master transmitter only starts FS once its FIFO
 * holds data); the synchronous slave B is enabled before its master A, so it sees A's first
 * frame. False when A's FIFO never fills: no SAI answers. */
static bool sai_start(void) {
  SAI1_xCR1(BLOCK_B) |= SAI_CR1_DMAEN;
  SAI1_xCR1(BLOCK_A) |= SAI_CR1_DMAEN;
  if (!sai_fifo_loaded(BLOCK_A)) {
    return false;
  }
  SAI1_xCR1(BLOCK_B) |= SAI_CR1_SAIEN;
  SAI1_xCR1(BLOCK_A) |= SAI_CR1_SAIEN;
  return true;
}

/* SAIEN reads 1 until the block has finished its current frame (RM0410 SAI_xCR1). The slave
 * goes first, while its master still clocks it. */
static void sai_block_stop(uint32_t block) {
  SAI1_xCR1(block) &= ~(SAI_CR1_DMAEN | SAI_CR1_SAIEN);
  (void)wait_clear(&SAI1_xCR1(block), SAI_CR1_SAIEN);
  SAI1_xCR2(block) |= SAI_CR2_FFLUSH;
  SAI1_xCLRFR(block) = SAI_CLRFR_ALL;
}

/* ---- DMA2 ------------------------------------------------------------------------------------ */

static void dma_clear_flags(uint32_t stream) {
  DMA2_IFCR_OF(stream) = DMA_FLAGS_ALL << DMA_FLAGS_SHIFT(stream);
}

/* RM0410 "Stream configuration procedure": with EN = 0 and the stream's flags cleared, set
 * the peripheral and memory addresses, the item count, FIFO control (DMDIS = 0: direct mode,
 * each SAI request moves one word straight to or from memory, so the half-transfer flag means
 * that half is in memory) and the configuration; EN last. */
static void dma_stream_start(uint32_t stream, uint32_t config, uint32_t peripheral,
                             volatile int32_t *ring) {
  DMA2_SxCR(stream) = 0u;
  dma_clear_flags(stream);
  DMA2_SxPAR(stream) = peripheral;
  DMA2_SxM0AR(stream) = (uint32_t)(uintptr_t)ring;
  DMA2_SxNDTR(stream) = ring_words();
  DMA2_SxFCR(stream) = DMA_SxFCR_FEIE;
  DMA2_SxCR(stream) = config;
  DMA2_SxCR(stream) = config | DMA_SxCR_EN;
}

/* EN reads 1 until the stream has finished its current transfer. */
static void dma_stream_stop(uint32_t stream) {
  DMA2_SxCR(stream) &= ~DMA_SxCR_EN;
  (void)wait_clear(&DMA2_SxCR(stream), DMA_SxCR_EN);
  dma_clear_flags(stream);
}

static void dma_start(void) {
  nucleo_clock_enable(&RCC_AHB1ENR, RCC_AHB1ENR_DMA2EN);
  dma_stream_start(TX_STREAM, DMA_TX_CONFIG, SAI1_xDR_ADDR(BLOCK_A), tx_ring);
  dma_stream_start(RX_STREAM, DMA_RX_CONFIG, SAI1_xDR_ADDR(BLOCK_B), rx_ring);
  nucleo_irq_enable(DMA2_STREAM1_IRQN, IRQ_LEVEL_AUDIO);
  nucleo_irq_enable(DMA2_STREAM5_IRQN, IRQ_LEVEL_AUDIO);
}

/* Reads and clears the stream's flags (LISR/HISR, LIFCR/HIFCR). */
static uint32_t dma_take_flags(uint32_t stream) {
  const uint32_t shift = DMA_FLAGS_SHIFT(stream);
  const uint32_t flags = (DMA2_ISR_OF(stream) >> shift) & DMA_FLAGS_ALL;
  DMA2_IFCR_OF(stream) = flags << shift;
  return flags;
}

/* ---- Interrupts ------------------------------------------------------------------------------ */

/* A transfer error also disables the stream (RM0410 "DMA error management"): the audio then
 * stops, which the application sees as missing events, and board_audio_errors() says why.
 * FIFO (direct mode: over/underrun) and direct mode errors lose no data. */
static void count_dma_errors(uint32_t flags) {
  const uint32_t errors[] = {DMA_FLAG_TEIF, DMA_FLAG_FEIF, DMA_FLAG_DMEIF};
  for (uint32_t i = 0; i < sizeof errors / sizeof errors[0]; ++i) {
    if (flags & errors[i]) {
      audio_count_error();
    }
  }
}

static void count_sai_errors(void) {
  for (uint32_t block = BLOCK_A; block <= BLOCK_B; ++block) {
    if (SAI1_xSR(block) & SAI_SR_OVRUDR) {
      SAI1_xCLRFR(block) = SAI_CLRFR_COVRUDR;
      audio_count_error();
    }
  }
}

static void report_half(void) {
  count_sai_errors();
  next_half ^= 1u;
  audio_block_event();
}

/* NDTR counts the RX ring's words down from its length and reloads at 0: above half the ring,
 * the DMA is filling half 0. */
static uint32_t rx_filling_half(void) {
  return DMA2_SxNDTR(RX_STREAM) > ring_words() / 2u ? 0u : 1u;
}

/* Normally the half just completed is next_half: one event. If this interrupt came so late
 * that the DMA has completed the following half too, both are reported, in order, so event n
 * keeps meaning half n & 1 (board.h), and the lateness counts as an error. */
static void report_completed_halves(void) {
  const uint32_t completed = rx_filling_half() ^ 1u;
  report_half();
  if (next_half != (completed ^ 1u)) {
    audio_count_error();
    report_half();
  }
}

void DMA2_Stream5_IRQHandler(void) { /* SAI1_B, receive: the block events */
  const uint32_t flags = dma_take_flags(RX_STREAM);
  count_dma_errors(flags);
  if (flags & (DMA_FLAG_HTIF | DMA_FLAG_TCIF)) {
    report_completed_halves();
  }
}

void DMA2_Stream1_IRQHandler(void) { /* SAI1_A, transmit: errors only */
  count_dma_errors(dma_take_flags(TX_STREAM));
}

/* ---- codec_* --------------------------------------------------------------------------------- */

static void rings_clear(void) {
  for (uint32_t i = 0; i < RING_WORDS; ++i) {
    rx_ring[i] = 0;
    tx_ring[i] = 0;
  }
}

board_audio_status_t codec_start(const board_audio_config_t *config, audio_rate_t *rate) {
  const audio_codec_clock_t *clock = audio_codec_clock(config->sample_rate);
  if (clock == NULL) {
    return BOARD_AUDIO_UNSUPPORTED_RATE;
  }
  if (!nucleo_pll_running() || !pllsai_start(clock)) {
    pllsai_stop();
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  block_frames = config->block;
  next_half = 0u;
  rings_clear();
  pins_init();
  if (!sai_init(clock)) {
    codec_stop();
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  dma_start();
  if (!sai_start()) {
    codec_stop();
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  *rate = audio_codec_rate(clock);
  return BOARD_AUDIO_OK;
}

/* Interrupts first (no event after this begins), then the SAI (slave, then master), the DMA
 * streams, and the SAI's clock last, since a block needs it to finish its frame. */
void codec_stop(void) {
  nucleo_irq_disable(DMA2_STREAM5_IRQN);
  nucleo_irq_disable(DMA2_STREAM1_IRQN);
  sai_block_stop(BLOCK_B);
  sai_block_stop(BLOCK_A);
  dma_stream_stop(RX_STREAM);
  dma_stream_stop(TX_STREAM);
  pllsai_stop();
}

/* Slot 0, the left channel, of each frame. */
void codec_read(uint32_t half, float *in, uint32_t n) {
  const volatile int32_t *words = half_words(rx_ring, half);
  const uint32_t count = n < block_frames ? n : block_frames;
  for (uint32_t i = 0; i < count; ++i) {
    in[i] = audio_word_to_float(words[SLOTS * i]);
  }
}

/* The mono sample goes to both slots: the DAC plays it on both channels. */
void codec_write(uint32_t half, const float *out, uint32_t n) {
  volatile int32_t *words = half_words(tx_ring, half);
  const uint32_t count = n < block_frames ? n : block_frames;
  for (uint32_t i = 0; i < count; ++i) {
    const int32_t word = audio_float_to_word(out[i]);
    words[SLOTS * i] = word;
    words[SLOTS * i + 1u] = word;
  }
}
