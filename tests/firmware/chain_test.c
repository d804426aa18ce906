/* The pedal's signal chain (firmware/app/chain.h) on the host: ramps are linear and end
 * exactly on target, bypass gives the input back bit for bit, the gate mutes below its
 * threshold and passes above it, the cabinet is the FIR, bad values change nothing, and the
 * output does not depend on the block size. The sample-for-sample comparison with the numpy
 * chain runs on the M7 in QEMU (tests/robot/pedal.robot). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/chain.h"

/* ---- a model of gain 2 with no state (the chain's own behaviour is what is tested) */
static void gain2_reset(void *state) { (void)state; }
static void gain2_process(void *state, const float *in, float *out, uint32_t n) {
  (void)state;
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = 2.0f * in[i];
  }
}
static const vn_model_t gain2 = {
    .info = {.name = "gain2", .sample_rate = 48000u}, .reset = gain2_reset, .process = gain2_process};

static chain_t chain;
static const float taps[3] = {0.5f, 0.25f, -0.125f};
static float history[VN_FIR_HISTORY_LENGTH(3)];
static vn_fir_f32_t fir;

static void setup(bool with_cabinet) {
  if (with_cabinet) {
    vn_fir_f32_init(&fir, taps, 3u, history);
  }
  chain_init(&chain, &gain2, NULL, with_cabinet ? &fir : NULL, 48000u);
}

static void run(const float *in, float *out, uint32_t n, uint32_t block) {
  for (uint32_t done = 0; done < n; done += block) {
    const uint32_t count = n - done < block ? n - done : block;
    chain_process(&chain, in + done, out + done, count);
  }
}

static void defaults_are_the_model_alone(void **state) {
  (void)state;
  setup(false);
  float in[64], out[64];
  for (uint32_t i = 0; i < 64u; ++i) {
    in[i] = 0.01f * (float)i - 0.3f;
  }
  run(in, out, 64u, 64u);
  for (uint32_t i = 0; i < 64u; ++i) {
    assert_true(out[i] == fminf(fmaxf(2.0f * in[i], -1.0f), 1.0f));
  }
}

/* -12 dB with the default 10 ms (480 samples): each step the same size, monotonic, and the
 * last sample exactly on the new gain. */
static void gain_change_is_a_linear_ramp(void **state) {
  (void)state;
  setup(false);
  assert_true(chain_set(&chain, CHAIN_OUTPUT_GAIN_DB, -12.0f));
  float in[600], out[600];
  for (uint32_t i = 0; i < 600u; ++i) {
    in[i] = 0.25f;
  }
  run(in, out, 600u, 32u);
  const float target = 0.5f * chain_db_to_gain(-12.0f);
  const float step = (target - 0.5f) / 480.0f;
  for (uint32_t i = 0; i < 480u; ++i) {
    const float previous = i == 0u ? 0.5f : out[i - 1u];
    assert_true(out[i] < previous);
    assert_float_equal(out[i] - previous, step, 1e-5); /* 1 % of a step: float rounding only */
  }
  for (uint32_t i = 479u; i < 600u; ++i) {
    assert_float_equal(out[i], target, 1e-7); /* on target from the ramp's last sample */
  }
}

static void bypass_cross_fades_to_the_input(void **state) {
  (void)state;
  setup(true);
  assert_true(chain_set(&chain, CHAIN_BYPASS, 1.0f));
  float in[1000], out[1000];
  for (uint32_t i = 0; i < 1000u; ++i) {
    in[i] = 0.4f * sinf(0.05f * (float)i);
  }
  run(in, out, 1000u, 48u);
  assert_true(out[10] != in[10]); /* still fading */
  for (uint32_t i = 480u; i < 1000u; ++i) {
    assert_true(out[i] == in[i]); /* exactly the input once the fade is over */
  }
}

static void gate_mutes_below_threshold_and_passes_above(void **state) {
  (void)state;
  setup(false);
  assert_true(chain_set(&chain, CHAIN_GATE_THRESHOLD_DB, -40.0f)); /* 0.01 open, 0.005 close */
  static float in[48000], out[48000];
  for (uint32_t i = 0; i < 48000u; ++i) {
    const float loud = 0.3f * sinf(0.07f * (float)i);
    const float hiss = 0.002f * sinf(1.3f * (float)i); /* -54 dB: below the close level */
    in[i] = i < 24000u ? loud : hiss;
  }
  run(in, out, 48000u, 128u);
  for (uint32_t i = 12000u; i < 24000u; ++i) {
    assert_float_equal(out[i], 2.0f * in[i], 1e-5); /* open: unity gain */
  }
  for (uint32_t i = 47000u; i < 48000u; ++i) {
    assert_true(fabsf(out[i]) < 1e-5f); /* closed: the hiss (0.004 after the model) 52 dB down */
  }
}

static void cabinet_is_the_fir_and_switches_off_with_a_fade(void **state) {
  (void)state;
  setup(true);
  float in[600], out[600];
  memset(in, 0, sizeof in);
  in[0] = 0.5f;
  run(in, out, 4u, 4u);
  assert_true(out[0] == 0.5f && out[1] == 0.25f && out[2] == -0.125f && out[3] == 0.0f); /* 2 x 0.5 x taps */
  assert_true(chain_set(&chain, CHAIN_CABINET, 0.0f));
  for (uint32_t i = 0; i < 600u; ++i) {
    in[i] = 0.1f;
  }
  run(in, out, 600u, 100u);
  assert_true(out[599] == 0.2f); /* the model alone */
}

static void bad_values_change_nothing(void **state) {
  (void)state;
  setup(false);
  assert_false(chain_set(&chain, CHAIN_OUTPUT_GAIN_DB, 13.0f));
  assert_false(chain_set(&chain, CHAIN_INPUT_GAIN_DB, NAN));
  assert_false(chain_set(&chain, CHAIN_BYPASS, 0.5f));
  assert_false(chain_set(&chain, CHAIN_CABINET, 1.0f)); /* no cabinet */
  assert_false(chain_set(&chain, CHAIN_RAMP_MS, 0.0f));
  assert_false(chain_set(&chain, (chain_param_t)42, 0.0f));
  assert_int_equal(chain.output_gain.remaining, 0u);
  assert_int_equal(chain.input_gain.remaining, 0u);
  assert_int_equal(chain.wet.remaining, 0u);
  assert_true(chain.input_gain.value == 1.0f && chain.output_gain.value == 1.0f);
}

static void output_does_not_depend_on_the_block_size(void **state) {
  (void)state;
  static float in[4096], a[4096], b[4096];
  for (uint32_t i = 0; i < 4096u; ++i) {
    in[i] = (i % 1000u < 500u ? 0.3f : 0.001f) * sinf(0.031f * (float)i);
  }
  setup(true);
  assert_true(chain_set(&chain, CHAIN_GATE_THRESHOLD_DB, -30.0f));
  run(in, a, 4096u, 7u);
  setup(true);
  assert_true(chain_set(&chain, CHAIN_GATE_THRESHOLD_DB, -30.0f));
  run(in, b, 4096u, CHAIN_MAX_BLOCK);
  assert_memory_equal(a, b, sizeof a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_are_the_model_alone),
      cmocka_unit_test(gain_change_is_a_linear_ramp),
      cmocka_unit_test(bypass_cross_fades_to_the_input),
      cmocka_unit_test(gate_mutes_below_threshold_and_passes_above),
      cmocka_unit_test(cabinet_is_the_fir_and_switches_off_with_a_fade),
      cmocka_unit_test(bad_values_change_nothing),
      cmocka_unit_test(output_does_not_depend_on_the_block_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
