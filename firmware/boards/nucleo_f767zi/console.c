/*
 * console.c - the NUCLEO-F767ZI console: USART3 on PD8 (TX) / PD9 (RX), routed by the board to
 * the ST-LINK's virtual COM port, 921600 baud 8N1, interrupt driven.
 *
 * Why interrupts: the audio main loop spends about 0.5 ms per block on DSP, while at 921600
 * baud a byte arrives every 10.9 us and the USART holds only one (RDR): polled, the console
 * would lose bytes during every block, and each reply would stall the loop for its length.
 * So the USART3 interrupt moves bytes between the USART and two rings: received bytes into an
 * 8 KB ring that board_uart_read_byte() pops, queued bytes from a 1 KB ring into TDR on TXE.
 * board_uart_write() returns once its bytes are queued and blocks only while the ring is
 * full. USART3 sits below the audio interrupts (board_internal.h, IRQ_LEVEL_CONSOLE).
 *
 * Why the receive ring holds 8 KB: the host may send a whole burst before the main loop reads
 * a byte of it. Renode hands a whole host write to the USART at once, a fast USB-serial bridge
 * can send back to back, and the main loop reads nothing while it processes a 1024-sample
 * PROCESS frame. The host keeps one request in flight (its reply is the acknowledgement) plus
 * up to eight queued PARAM changes (docs/protocol.md, "Flow control"), so the largest burst is
 * one largest frame and eight PARAM frames: RX_BURST_BYTES below, which the ring must hold.
 *
 * The rings are byte_ring_t (firmware/boards/common/byte_ring.h): one producer and one
 * consumer each, the interrupt and the main loop, no lock needed (the header says why).
 */
#include "firmware/boards/board.h"
#include "firmware/boards/common/byte_ring.h"
#include "firmware/boards/nucleo_f767zi/board_internal.h"
#include "firmware/boards/nucleo_f767zi/stm32f767_regs.h"

#define CONSOLE_BAUD 921600u
#define RX_RING_SIZE 8192u
#define TX_RING_SIZE 1024u

/* The largest burst a host following the protocol sends: one frame of the largest payload and
 * the eight PARAM frames that may be queued before it. The frame layout's owner is
 * firmware/app/frame.h and the queue's firmware/app/pedal.h; a board does not include the
 * application, so the numbers are repeated here and tests/python/test_firmware_constants.py
 * checks them against those headers. */
#define RX_LARGEST_FRAME_BYTES 4110u /* 6-byte header, 4100-byte payload, 4-byte CRC */
#define RX_PARAM_FRAME_BYTES 22u     /* 6-byte header, 12-byte PARAM payload, 4-byte CRC */
#define RX_QUEUED_PARAMS 8u
#define RX_BURST_BYTES (RX_LARGEST_FRAME_BYTES + RX_QUEUED_PARAMS * RX_PARAM_FRAME_BYTES)

_Static_assert((RX_RING_SIZE & (RX_RING_SIZE - 1u)) == 0u, "ring sizes are powers of two");
_Static_assert((TX_RING_SIZE & (TX_RING_SIZE - 1u)) == 0u, "ring sizes are powers of two");
_Static_assert(RX_RING_SIZE >= RX_BURST_BYTES, "the receive ring holds the largest host burst");

static volatile uint8_t rx_data[RX_RING_SIZE];
static volatile uint8_t tx_data[TX_RING_SIZE];
static byte_ring_t rx_ring = BYTE_RING_INIT(rx_data, RX_RING_SIZE);
static byte_ring_t tx_ring = BYTE_RING_INIT(tx_data, TX_RING_SIZE);

static volatile uint32_t rx_lost; /* overruns (USART_ISR ORE) plus bytes the full ring refused */
static volatile bool console_dead; /* the transmitter stopped draining: writes return at once */

/* IPSR holds the active exception number: nonzero inside any handler. */
static inline bool in_handler_mode(void) {
  uint32_t ipsr;
  __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  return (ipsr & 0x1FFu) != 0u;
}

/* ---- Set-up ---------------------------------------------------------------------------------- */

/* USART3 divisor. With 16x oversampling (OVER8=0) a bit lasts BRR kernel clocks; with
 * OVER8=1 it lasts 8 * BRR[15:4] + BRR[2:0] (RM0410 "USART baud rate generation":
 * BRR[2:0] = USARTDIV[3:0] >> 1, so USARTDIV's bit 0 is dropped), a whole number of
 * clocks, so OVER8=1 can never beat OVER8=0's error: it only allows divisors 8..15.
 * From APB1 at 54 MHz: 54e6 / 921600 = 58.59 -> 59, 915254 baud, -0.69 %
 * (OVER8=1 with ST's rounding, USARTDIV 117, would give 58: 931034 baud, +1.02 %).
 * HSI fallback, 16 MHz: 17.36 -> 17, 941176 baud, +2.12 %: inside the receiver's
 * 3.41 % tolerance (RM0410, 16x oversampling, BRR[3:0] != 0), but with little margin
 * left for the ST-LINK's own baud error. */
static inline uint32_t usart_brr(uint32_t clock_hz, uint32_t baud) {
  return (clock_hz + baud / 2u) / baud;
}

/* GPIOD: AFRH AFR8/AFR9 = AF7 (USART3) before MODER hands the pins to the AF, so they never
 * drive another function; push-pull TX; high speed; pull-up on RX so a disconnected line
 * idles high instead of reading noise as start bits. */
static void console_pins_init(void) {
  nucleo_clock_enable(&RCC_AHB1ENR, RCC_AHB1ENR_GPIODEN);
  GPIOD_AFRH = (GPIOD_AFRH & ~(GPIO_AFRH_Msk(8u) | GPIO_AFRH_Msk(9u))) |
               GPIO_AFRH_AF(8u, 7u) | GPIO_AFRH_AF(9u, 7u);
  GPIOD_OTYPER &= ~GPIO_OTYPER_OD(8u);
  GPIOD_OSPEEDR = (GPIOD_OSPEEDR & ~(GPIO_OSPEEDR_Msk(8u) | GPIO_OSPEEDR_Msk(9u))) |
                  GPIO_OSPEEDR_HIGH(8u) | GPIO_OSPEEDR_HIGH(9u);
  GPIOD_PUPDR = (GPIOD_PUPDR & ~(GPIO_PUPDR_Msk(8u) | GPIO_PUPDR_Msk(9u))) | GPIO_PUPDR_UP(9u);
  GPIOD_MODER = (GPIOD_MODER & ~(GPIO_MODER_Msk(8u) | GPIO_MODER_Msk(9u))) |
                GPIO_MODER_AF(8u) | GPIO_MODER_AF(9u);
}

/* USART_CR1 UE = 0 first: BRR and the frame format are only writable when disabled. CR1
 * M1:M0 = 00 (8 data bits), PCE = 0 (no parity), OVER8 = 0; CR2 STOP = 00 (1 stop bit); CR3
 * all off (no flow control, overrun detection kept). RXNEIE raises the interrupt for RXNE and
 * ORE (RM0410 "USART interrupts"); TXEIE is set only while bytes wait in the ring. */
void console_init(uint32_t clock_hz) {
  nucleo_clock_enable(&RCC_APB1ENR, RCC_APB1ENR_USART3EN);
  /* RCC_DCKCFGR2 USART3SEL = PCLK1 (its reset value): the divisor assumes it. */
  RCC_DCKCFGR2 = (RCC_DCKCFGR2 & ~RCC_DCKCFGR2_USART3SEL_Msk) | RCC_DCKCFGR2_USART3SEL_PCLK1;
  console_pins_init();

  USART3_CR1 = 0u;
  USART3_CR2 = 0u;
  USART3_CR3 = 0u;
  USART3_BRR = usart_brr(clock_hz, CONSOLE_BAUD);
  USART3_CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE | USART_CR1_UE;
  nucleo_irq_enable(USART3_IRQN, IRQ_LEVEL_CONSOLE);
}

/* ---- The interrupt --------------------------------------------------------------------------- */

/* An overrun (ORE: a byte arrived while RDR still held the previous one; the new byte is
 * lost, RDR keeps the old) must be cleared (USART_ICR ORECF) or it would raise the interrupt
 * forever; framing, noise and parity flags are cleared with it and their byte kept, as the
 * polled console did. Reading RDR clears RXNE. */
static void console_receive(uint32_t isr) {
  const uint32_t errors = isr & (USART_ISR_ORE | USART_ISR_FE | USART_ISR_NF | USART_ISR_PE);
  if (errors & USART_ISR_ORE) {
    rx_lost = rx_lost + 1u;
  }
  if (errors != 0u) {
    USART3_ICR = USART_ICR_ORECF | USART_ICR_FECF | USART_ICR_NCF | USART_ICR_PECF;
  }
  if (isr & USART_ISR_RXNE) {
    if (!byte_ring_push(&rx_ring, (uint8_t)USART3_RDR)) {
      rx_lost = rx_lost + 1u;
    }
  }
}

/* TXE stays set while TDR is empty, so TXEIE goes off with the ring's last byte. The main
 * loop's read-modify-write that sets TXEIE may be interrupted here; it then sets TXEIE again
 * after this cleared it, which costs one interrupt that finds the ring empty. */
static void console_transmit(uint32_t isr) {
  if (!(USART3_CR1 & USART_CR1_TXEIE) || !(isr & USART_ISR_TXE)) {
    return;
  }
  uint8_t byte;
  if (byte_ring_pop(&tx_ring, &byte)) {
    USART3_TDR = byte; /* writing TDR clears TXE */
  } else {
    USART3_CR1 &= ~USART_CR1_TXEIE;
  }
}

void USART3_IRQHandler(void) {
  const uint32_t isr = USART3_ISR;
  console_receive(isr);
  console_transmit(isr);
}

/* ---- Transmission ---------------------------------------------------------------------------- */

/* Queues what fits of data[0..len) and returns how many bytes that was; TXEIE on makes the
 * interrupt send them. */
static size_t tx_queue(const uint8_t *data, size_t len) {
  const size_t count = byte_ring_push_some(&tx_ring, data, len);
  if (count != 0u) {
    USART3_CR1 |= USART_CR1_TXEIE;
  }
  return count;
}

/* Waits until the transmitter has left at most `most` bytes in the ring. False when the ring
 * did not shrink for POLL_LIMIT polls (>= 37 ms, where a byte takes 11 us): TXE never comes,
 * e.g. USART3 has no clock, or the caller blocks the USART3 interrupt. It watches the count,
 * not the tail: the interrupt may have emptied the ring before the wait began (Renode sends
 * each byte the moment TDR is written), and a wait for the tail to move would then never end. */
static bool tx_wait_at_most(uint32_t most) {
  return byte_ring_wait_at_most(&tx_ring, most, POLL_LIMIT);
}

/* A dead console is remembered, so every later write returns at once instead of waiting
 * POLL_LIMIT again. The main loop is the ring's only producer: called from an interrupt
 * handler, the function returns without sending, because a second producer could corrupt the
 * ring and a wait there could be a wait for the USART3 interrupt itself. */
void board_uart_write(const uint8_t *data, size_t len) {
  if (in_handler_mode()) {
    return;
  }
  while (len != 0u && !console_dead) {
    const size_t queued = tx_queue(data, len);
    data += queued;
    len -= queued;
    if (len != 0u) {
      console_dead = !tx_wait_at_most(TX_RING_SIZE - 1u); /* room for one more byte */
    }
  }
}

/* The ring empties into TDR, then USART_ISR TC says the last stop bit is on the wire. */
void console_flush(void) {
  if (!console_dead) {
    console_dead = !tx_wait_at_most(0u);
  }
  if (!console_dead) {
    (void)wait_set(&USART3_ISR, USART_ISR_TC);
  }
}

/* ---- Reception ------------------------------------------------------------------------------- */

bool board_uart_read_byte(uint8_t *byte) {
  return byte_ring_pop(&rx_ring, byte);
}

uint32_t board_uart_overruns(void) { return rx_lost; }
