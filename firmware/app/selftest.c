#include "firmware/app/selftest.h"

#include <math.h>
#include <stdio.h>

static const char *unit_name(board_counter_unit_t unit) {
  return unit == BOARD_COUNTER_CYCLES ? "cycles" : unit == BOARD_COUNTER_INSTRUCTIONS ? "instructions" : "none";
}

void selftest_run(const model_table_entry_t *entry, void *state, selftest_result_t *result) {
  static float block[SELFTEST_BLOCK];
  const selftest_clip_t *clip = entry->clip;
  *result = (selftest_result_t){.status = SELFTEST_NO_CLIP, .unit = board_counter_unit()};
  if (clip == NULL || clip->samples == 0u) {
    return;
  }
  const vn_model_t *model = entry->model;
  double error_energy = 0.0, signal_energy = 0.0;
  float worst = 0.0f;
  uint32_t units = 0u;
  model->reset(state);
  for (uint32_t done = 0; done < clip->samples; done += SELFTEST_BLOCK) {
    const uint32_t n = clip->samples - done < SELFTEST_BLOCK ? clip->samples - done : SELFTEST_BLOCK;
    const uint32_t start = board_counter_read();
    model->process(state, clip->input + done, block, n);
    units += board_counter_read() - start;
    for (uint32_t i = 0; i < n; ++i) {
      const float expected = clip->expected[done + i];
      const float error = block[i] - expected;
      /* NaN compares false: count it as an infinite error, never as a pass */
      worst = fabsf(error) <= worst ? worst : (isnan(error) ? INFINITY : fabsf(error));
      error_energy += (double)error * (double)error;
      signal_energy += (double)expected * (double)expected;
    }
  }
  model->reset(state);
  result->samples = clip->samples;
  result->max_abs_error = worst;
  result->esr = signal_energy > 0.0 ? (float)(error_energy / signal_energy) : (float)error_energy;
  result->per_sample_x10 = result->unit == BOARD_COUNTER_NONE
                               ? 0u
                               : (uint32_t)((10ull * units + clip->samples / 2u) / clip->samples);
  const bool within_max = clip->max_abs_error_bound <= 0.0f || worst <= clip->max_abs_error_bound;
  const bool within_esr = clip->esr_bound <= 0.0f || result->esr <= clip->esr_bound;
  result->status = within_max && within_esr && !isnan(result->esr) ? SELFTEST_PASS : SELFTEST_FAIL;
}

size_t selftest_format(const model_table_entry_t *entry, const selftest_result_t *result, char *out, size_t capacity) {
  const vn_model_info_t *info = &entry->model->info;
  const char *precision = info->precision == VN_PRECISION_Q15 ? "int16" : "float32";
  int n;
  if (result->status == SELFTEST_NO_CLIP) {
    n = snprintf(out, capacity, "SELFTEST NONE model=%s precision=%s (no clip in this image)", info->name, precision);
  } else {
    n = snprintf(out, capacity, "SELFTEST %s model=%s precision=%s samples=%lu max_abs_error=%.3g esr=%.3g per_sample=%lu.%lu unit=%s",
                 result->status == SELFTEST_PASS ? "PASS" : "FAIL", info->name, precision,
                 (unsigned long)result->samples, (double)result->max_abs_error, (double)result->esr,
                 (unsigned long)(result->per_sample_x10 / 10u), (unsigned long)(result->per_sample_x10 % 10u),
                 unit_name(result->unit));
  }
  return n < 0 ? 0u : ((size_t)n < capacity ? (size_t)n : capacity - 1u);
}
