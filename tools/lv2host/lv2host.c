/*
 * lv2host: runs one mono LV2 effect plugin headless over a raw float32 stream.
 *
 * Why this exists: the built-in dataset needs a real amp model (guitarix's LV2 amp), and the
 * generic command-line LV2 runners cannot load it because it needs the LV2 worker and atom
 * ports. This host provides exactly what such plugins ask for and nothing more:
 *   - urid:map / urid:unmap, log:log, options:options (block lengths, sample rate),
 *     buf-size:boundedBlockLength / fixedBlockLength (/ powerOf2BlockLength);
 *   - the worker, run synchronously: schedule_work() calls the plugin's work() at once, its
 *     responses are queued and delivered with work_response() and end_run() after run().
 *     With a fixed block size this makes the output a pure function of the input, the
 *     controls and the block size (byte-identical across runs);
 *   - every port connected: control inputs from their defaults, overridden by --set; control
 *     outputs, CV ports to scratch buffers; atom inputs get an empty sequence each block and
 *     atom outputs a large buffer.
 *
 * Audio is raw float32 in the machine's byte order (little-endian here) on files or
 * stdin/stdout (anything the plugin itself prints to stdout is moved to stderr). Before the input, --preroll samples of silence are run and their output is
 * discarded, because the guitarix plugins cross-fade their output in after instantiation.
 * The input is processed in fixed blocks (the last one padded with zeros), so the output has
 * exactly as many samples as the input.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/resize-port/resize-port.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lv2host reads and writes little-endian float32: build it on a little-endian machine"
#endif

#define ATOM_OUT_DEFAULT_BYTES 65536u
#define MAX_SETTINGS 64
#define MAX_WORKER_ROUNDS 64

typedef enum {
    PORT_CONTROL_IN,
    PORT_CONTROL_OUT,
    PORT_AUDIO_IN,
    PORT_AUDIO_OUT,
    PORT_ATOM_IN,
    PORT_ATOM_OUT,
    PORT_CV,
} PortKind;

typedef struct {
    PortKind kind;
    const char* symbol;
    float value;
    float min;
    float max;
    float* samples;
    LV2_Atom_Sequence* atom;
    uint32_t atom_capacity;
} Port;

typedef struct {
    char** uris;
    uint32_t count;
} UridTable;

typedef struct {
    uint32_t size;
    void* data;
} WorkerResponse;

typedef struct {
    WorkerResponse* items;
    uint32_t count;
    uint32_t capacity;
} ResponseQueue;

typedef struct {
    const char* symbol;
    const char* value;
} Setting;

typedef struct {
    const char* plugin_uri;
    const char* input_path;
    const char* output_path;
    double rate;
    uint32_t block;
    long preroll;
    bool list_ports;
    Setting settings[MAX_SETTINGS];
    int setting_count;
} Options;

typedef struct {
    LilvWorld* world;
    const LilvPlugin* plugin;
    LilvInstance* instance;
    const LV2_Worker_Interface* worker;
    UridTable urids;
    ResponseQueue responses;
    Port* ports;
    uint32_t port_count;
    uint32_t block;
    float* audio_in;
    float* audio_out;
    LV2_URID atom_sequence;
    LV2_URID atom_chunk;
} Host;

/* ---------------------------------------------------------------- errors */

static int fail(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("lv2host: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return 1;
}

static void* xcalloc(size_t count, size_t size) {
    void* p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fail("out of memory");
        exit(1);
    }
    return p;
}

/* ---------------------------------------------------------------- URID map */

static LV2_URID urid_map(LV2_URID_Map_Handle handle, const char* uri) {
    UridTable* table = handle;
    for (uint32_t i = 0; i < table->count; ++i) {
        if (strcmp(table->uris[i], uri) == 0) {
            return i + 1;
        }
    }
    char** grown = realloc(table->uris, (table->count + 1) * sizeof(char*));
    char* copy = strdup(uri);
    if (!grown || !copy) {
        fail("out of memory");
        exit(1);
    }
    table->uris = grown;
    table->uris[table->count] = copy;
    return ++table->count;
}

static const char* urid_unmap(LV2_URID_Unmap_Handle handle, LV2_URID urid) {
    UridTable* table = handle;
    return (urid >= 1 && urid <= table->count) ? table->uris[urid - 1] : NULL;
}

/* ---------------------------------------------------------------- log */

static int log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, va_list args) {
    const char* kind = urid_unmap(handle, type);
    const char* hash = kind ? strrchr(kind, '#') : NULL;
    fprintf(stderr, "lv2host: plugin %s: ", hash ? hash + 1 : "log");
    return vfprintf(stderr, fmt, args);
}

static int log_printf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = log_vprintf(handle, type, fmt, args);
    va_end(args);
    return n;
}

/* ---------------------------------------------------------------- worker (synchronous) */

static LV2_Worker_Status worker_respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data) {
    ResponseQueue* queue = handle;
    if (queue->count == queue->capacity) {
        uint32_t capacity = queue->capacity ? 2 * queue->capacity : 8;
        WorkerResponse* grown = realloc(queue->items, capacity * sizeof(WorkerResponse));
        if (!grown) {
            return LV2_WORKER_ERR_NO_SPACE;
        }
        queue->items = grown;
        queue->capacity = capacity;
    }
    void* copy = xcalloc(1, size);
    memcpy(copy, data, size);
    queue->items[queue->count++] = (WorkerResponse){size, copy};
    return LV2_WORKER_SUCCESS;
}

/* The work runs right here, in the caller's thread: deterministic, no worker thread. */
static LV2_Worker_Status worker_schedule(LV2_Worker_Schedule_Handle handle, uint32_t size, const void* data) {
    Host* host = handle;
    if (!host->worker || !host->worker->work || !host->instance) {
        return LV2_WORKER_ERR_UNKNOWN;
    }
    LV2_Handle plugin = lilv_instance_get_handle(host->instance);
    return host->worker->work(plugin, worker_respond, &host->responses, size, data);
}

/* Responses queued by work() go back to the plugin after run(); a response may schedule more. */
static void worker_deliver(Host* host) {
    if (!host->worker) {
        return;
    }
    LV2_Handle plugin = lilv_instance_get_handle(host->instance);
    for (int round = 0; round < MAX_WORKER_ROUNDS && host->responses.count > 0; ++round) {
        ResponseQueue pending = host->responses;
        host->responses = (ResponseQueue){NULL, 0, 0};
        for (uint32_t i = 0; i < pending.count; ++i) {
            if (host->worker->work_response) {
                host->worker->work_response(plugin, pending.items[i].size, pending.items[i].data);
            }
            free(pending.items[i].data);
        }
        free(pending.items);
    }
    if (host->worker->end_run) {
        host->worker->end_run(plugin);
    }
}

/* ---------------------------------------------------------------- command line */

static void usage(FILE* out) {
    fputs("usage: lv2host [options] PLUGIN_URI [INPUT [OUTPUT]]\n"
          "Runs a mono LV2 plugin over raw float32 little-endian samples.\n"
          "INPUT/OUTPUT are files; '-' or absent means stdin/stdout.\n"
          "  --rate HZ          sample rate (default 48000)\n"
          "  --block N          fixed block size in samples (default 256)\n"
          "  --preroll N        samples of silence run first, output discarded (default: one\n"
          "                     second; rounded up to whole blocks)\n"
          "  --set SYMBOL=VALUE control input value (repeatable)\n"
          "  --list             list the plugin's ports and exit\n"
          "  --help             this text\n",
          out);
}

static bool parse_long(const char* text, long min, long* out) {
    char* end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min) {
        return false;
    }
    *out = v;
    return true;
}

static int parse_option(Options* opt, const char* name, const char* value) {
    long n = 0;
    if (strcmp(name, "--rate") == 0 && parse_long(value, 1, &n)) {
        opt->rate = (double)n;
    } else if (strcmp(name, "--block") == 0 && parse_long(value, 1, &n) && n <= 1 << 20) {
        opt->block = (uint32_t)n;
    } else if (strcmp(name, "--preroll") == 0 && parse_long(value, 0, &n)) {
        opt->preroll = n;
    } else if (strcmp(name, "--set") == 0) {
        const char* eq = strchr(value, '=');
        if (!eq || eq == value || opt->setting_count == MAX_SETTINGS) {
            return fail("--set wants SYMBOL=VALUE (at most %d), got '%s'", MAX_SETTINGS, value);
        }
        opt->settings[opt->setting_count++] = (Setting){strndup(value, (size_t)(eq - value)), eq + 1};
    } else {
        return fail("bad value '%s' for %s (see --help)", value, name);
    }
    return 0;
}

static int parse_positional(Options* opt, const char* arg, int* positional) {
    const char** slots[] = {&opt->plugin_uri, &opt->input_path, &opt->output_path};
    if (*positional >= 3) {
        return fail("unexpected argument '%s' (see --help)", arg);
    }
    *slots[(*positional)++] = arg;
    return 0;
}

static int parse_args(int argc, char** argv, Options* opt) {
    *opt = (Options){.rate = 48000.0, .block = 256, .preroll = -1};
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        int rc = 0;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(arg, "--list") == 0) {
            opt->list_ports = true;
        } else if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            if (i + 1 >= argc) {
                return fail("%s needs a value (see --help)", arg);
            }
            rc = parse_option(opt, arg, argv[++i]);
        } else {
            rc = parse_positional(opt, arg, &positional);
        }
        if (rc) {
            return rc;
        }
    }
    if (!opt->plugin_uri) {
        usage(stderr);
        return fail("no plugin URI given");
    }
    if (opt->preroll < 0) {
        opt->preroll = (long)opt->rate;
    }
    return 0;
}

/* ---------------------------------------------------------------- plugin and ports */

static int find_plugin(Host* host, const char* uri) {
    host->world = lilv_world_new();
    lilv_world_load_all(host->world);
    LilvNode* node = lilv_new_uri(host->world, uri);
    const LilvPlugins* plugins = lilv_world_get_all_plugins(host->world);
    host->plugin = node ? lilv_plugins_get_by_uri(plugins, node) : NULL;
    lilv_node_free(node);
    if (!host->plugin) {
        return fail("plugin <%s> not found (is its package installed? LV2_PATH=%s)", uri,
                    getenv("LV2_PATH") ? getenv("LV2_PATH") : "(default)");
    }
    return 0;
}

static bool port_is(const Host* host, const LilvPort* port, const char* class_uri) {
    LilvNode* node = lilv_new_uri(host->world, class_uri);
    bool is = lilv_port_is_a(host->plugin, port, node);
    lilv_node_free(node);
    return is;
}

static int classify_port(const Host* host, const LilvPort* port, PortKind* kind) {
    bool input = port_is(host, port, LV2_CORE__InputPort);
    if (port_is(host, port, LV2_CORE__ControlPort)) {
        *kind = input ? PORT_CONTROL_IN : PORT_CONTROL_OUT;
    } else if (port_is(host, port, LV2_CORE__AudioPort)) {
        *kind = input ? PORT_AUDIO_IN : PORT_AUDIO_OUT;
    } else if (port_is(host, port, LV2_ATOM__AtomPort)) {
        *kind = input ? PORT_ATOM_IN : PORT_ATOM_OUT;
    } else if (port_is(host, port, LV2_CORE__CVPort)) {
        *kind = PORT_CV;
    } else {
        return fail("port '%s' has a type this host does not know",
                    lilv_node_as_string(lilv_port_get_symbol(host->plugin, port)));
    }
    return 0;
}

static uint32_t atom_capacity(const Host* host, const LilvPort* port) {
    LilvNode* key = lilv_new_uri(host->world, LV2_RESIZE_PORT__minimumSize);
    LilvNodes* sizes = lilv_port_get_value(host->plugin, port, key);
    uint32_t capacity = ATOM_OUT_DEFAULT_BYTES;
    if (sizes && lilv_nodes_size(sizes) > 0) {
        int wanted = lilv_node_as_int(lilv_nodes_get_first(sizes));
        if (wanted > (int)capacity) {
            capacity = (uint32_t)wanted;
        }
    }
    lilv_nodes_free(sizes);
    lilv_node_free(key);
    return capacity;
}

static void default_control(Port* port, float def) {
    if (!isnan(def)) {
        port->value = def;
    } else if (!isnan(port->min)) {
        port->value = port->min;
    } else {
        port->value = 0.0f;
    }
}

static int setup_ports(Host* host) {
    uint32_t n = lilv_plugin_get_num_ports(host->plugin);
    float* mins = xcalloc(n, sizeof(float));
    float* maxs = xcalloc(n, sizeof(float));
    float* defs = xcalloc(n, sizeof(float));
    lilv_plugin_get_port_ranges_float(host->plugin, mins, maxs, defs);
    host->ports = xcalloc(n, sizeof(Port));
    host->port_count = n;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; ++i) {
        const LilvPort* lport = lilv_plugin_get_port_by_index(host->plugin, i);
        Port* port = &host->ports[i];
        port->symbol = lilv_node_as_string(lilv_port_get_symbol(host->plugin, lport));
        port->min = mins[i];
        port->max = maxs[i];
        default_control(port, defs[i]);
        rc = classify_port(host, lport, &port->kind);
        if (port->kind == PORT_ATOM_IN || port->kind == PORT_ATOM_OUT) {
            port->atom_capacity = atom_capacity(host, lport);
        }
    }
    free(mins);
    free(maxs);
    free(defs);
    return rc;
}

static const char* kind_name(PortKind kind) {
    static const char* names[] = {"control-in", "control-out", "audio-in", "audio-out",
                                  "atom-in",    "atom-out",    "cv"};
    return names[kind];
}

static void list_ports(const Host* host) {
    printf("%-5s %-16s %-12s %10s %10s %10s\n", "index", "symbol", "kind", "default", "min", "max");
    for (uint32_t i = 0; i < host->port_count; ++i) {
        const Port* p = &host->ports[i];
        printf("%-5u %-16s %-12s %10g %10g %10g\n", i, p->symbol, kind_name(p->kind), p->value, p->min, p->max);
    }
}

static int control_names_error(const Host* host, const char* symbol) {
    fprintf(stderr, "lv2host: error: unknown control '%s'; the plugin's controls are:", symbol);
    for (uint32_t i = 0; i < host->port_count; ++i) {
        if (host->ports[i].kind == PORT_CONTROL_IN) {
            fprintf(stderr, " %s", host->ports[i].symbol);
        }
    }
    fputc('\n', stderr);
    return 1;
}

static int apply_setting(Host* host, const Setting* setting) {
    for (uint32_t i = 0; i < host->port_count; ++i) {
        Port* port = &host->ports[i];
        if (port->kind != PORT_CONTROL_IN || strcmp(port->symbol, setting->symbol) != 0) {
            continue;
        }
        char* end = NULL;
        double v = strtod(setting->value, &end);
        if (end == setting->value || *end || !isfinite(v)) {
            return fail("control %s: '%s' is not a number", setting->symbol, setting->value);
        }
        if ((!isnan(port->min) && v < port->min) || (!isnan(port->max) && v > port->max)) {
            return fail("control %s: %g is outside its range [%g, %g]", setting->symbol, v, port->min, port->max);
        }
        port->value = (float)v;
        return 0;
    }
    return control_names_error(host, setting->symbol);
}

/* ---------------------------------------------------------------- instance */

static int check_features(const Host* host, const LV2_Feature* const* features) {
    LilvNodes* required = lilv_plugin_get_required_features(host->plugin);
    int rc = 0;
    LILV_FOREACH (nodes, it, required) {
        const char* uri = lilv_node_as_uri(lilv_nodes_get(required, it));
        bool found = false;
        for (const LV2_Feature* const* f = features; *f && !found; ++f) {
            found = strcmp((*f)->URI, uri) == 0;
        }
        if (!found) {
            rc = fail("plugin requires feature <%s>, which this host does not provide", uri);
        }
    }
    lilv_nodes_free(required);
    return rc;
}

static int allocate_buffers(Host* host) {
    uint32_t audio_in = 0, audio_out = 0;
    for (uint32_t i = 0; i < host->port_count; ++i) {
        Port* port = &host->ports[i];
        if (port->kind == PORT_AUDIO_IN || port->kind == PORT_AUDIO_OUT || port->kind == PORT_CV) {
            port->samples = xcalloc(host->block, sizeof(float));
        } else if (port->kind == PORT_ATOM_IN || port->kind == PORT_ATOM_OUT) {
            port->atom = xcalloc(port->atom_capacity / 8 + 1, 8);
        }
        if (port->kind == PORT_AUDIO_IN) {
            host->audio_in = port->samples;
            audio_in++;
        } else if (port->kind == PORT_AUDIO_OUT) {
            host->audio_out = port->samples;
            audio_out++;
        }
    }
    if (audio_in != 1 || audio_out != 1) {
        return fail("plugin has %u audio inputs and %u outputs; this host runs mono plugins (1 and 1)", audio_in,
                    audio_out);
    }
    return 0;
}

static void connect_ports(Host* host) {
    for (uint32_t i = 0; i < host->port_count; ++i) {
        Port* port = &host->ports[i];
        void* buffer = &port->value;
        if (port->samples) {
            buffer = port->samples;
        } else if (port->atom) {
            buffer = port->atom;
        }
        lilv_instance_connect_port(host->instance, i, buffer);
    }
}

typedef struct {
    int32_t block;
    float rate;
    LV2_URID_Map map;
    LV2_URID_Unmap unmap;
    LV2_Log_Log log;
    LV2_Worker_Schedule schedule;
    LV2_Options_Option options[5];
    LV2_Feature features[8];
    const LV2_Feature* list[9];
} FeatureSet;

static void fill_options(FeatureSet* fs, Host* host) {
    LV2_URID int_type = urid_map(&host->urids, LV2_ATOM__Int);
    LV2_URID float_type = urid_map(&host->urids, LV2_ATOM__Float);
    const char* int_keys[] = {LV2_BUF_SIZE__minBlockLength, LV2_BUF_SIZE__maxBlockLength,
                              LV2_BUF_SIZE__nominalBlockLength};
    for (int i = 0; i < 3; ++i) {
        fs->options[i] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, urid_map(&host->urids, int_keys[i]),
                                              sizeof(int32_t), int_type, &fs->block};
    }
    fs->options[3] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, urid_map(&host->urids, LV2_PARAMETERS__sampleRate),
                                          sizeof(float), float_type, &fs->rate};
    fs->options[4] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL};
}

static void fill_features(FeatureSet* fs, Host* host, double rate) {
    fs->block = (int32_t)host->block;
    fs->rate = (float)rate;
    fs->map = (LV2_URID_Map){&host->urids, urid_map};
    fs->unmap = (LV2_URID_Unmap){&host->urids, urid_unmap};
    fs->log = (LV2_Log_Log){&host->urids, log_printf, log_vprintf};
    fs->schedule = (LV2_Worker_Schedule){host, worker_schedule};
    fill_options(fs, host);
    bool pow2 = (host->block & (host->block - 1)) == 0;
    LV2_Feature features[] = {
        {LV2_URID__map, &fs->map},
        {LV2_URID__unmap, &fs->unmap},
        {LV2_LOG__log, &fs->log},
        {LV2_WORKER__schedule, &fs->schedule},
        {LV2_OPTIONS__options, fs->options},
        {LV2_BUF_SIZE__boundedBlockLength, NULL},
        {LV2_BUF_SIZE__fixedBlockLength, NULL},
        {LV2_BUF_SIZE__powerOf2BlockLength, NULL},
    };
    int count = pow2 ? 8 : 7;
    for (int i = 0; i < count; ++i) {
        fs->features[i] = features[i];
        fs->list[i] = &fs->features[i];
    }
    fs->list[count] = NULL;
}

/* A plugin's declared buf-size:minBlockLength/maxBlockLength (0 when it declares none). */
static int declared_length(const Host* host, const char* property) {
    LilvNode* key = lilv_new_uri(host->world, property);
    LilvNode* value = lilv_world_get(host->world, lilv_plugin_get_uri(host->plugin), key, NULL);
    int length = value && lilv_node_is_int(value) ? lilv_node_as_int(value) : 0;
    lilv_node_free(value);
    lilv_node_free(key);
    return length;
}

static int check_block_length(const Host* host) {
    int min = declared_length(host, LV2_BUF_SIZE__minBlockLength);
    int max = declared_length(host, LV2_BUF_SIZE__maxBlockLength);
    if ((min > 0 && (int64_t)host->block < min) || (max > 0 && (int64_t)host->block > max)) {
        return fail("--block %u is outside the plugin's block lengths [%d, %d]", host->block, min, max);
    }
    return 0;
}

static int instantiate(Host* host, FeatureSet* fs, double rate) {
    fill_features(fs, host, rate);
    if (check_block_length(host) || check_features(host, fs->list)) {
        return 1;
    }
    host->instance = lilv_plugin_instantiate(host->plugin, rate, fs->list);
    if (!host->instance) {
        return fail("plugin <%s> failed to instantiate at %g Hz",
                    lilv_node_as_uri(lilv_plugin_get_uri(host->plugin)), rate);
    }
    host->worker = lilv_instance_get_extension_data(host->instance, LV2_WORKER__interface);
    host->atom_sequence = urid_map(&host->urids, LV2_ATOM__Sequence);
    host->atom_chunk = urid_map(&host->urids, LV2_ATOM__Chunk);
    return 0;
}

/* ---------------------------------------------------------------- processing */

static void reset_atoms(Host* host) {
    for (uint32_t i = 0; i < host->port_count; ++i) {
        Port* port = &host->ports[i];
        if (port->kind == PORT_ATOM_IN) {
            port->atom->atom.size = sizeof(LV2_Atom_Sequence_Body);
            port->atom->atom.type = host->atom_sequence;
            port->atom->body.unit = 0;
            port->atom->body.pad = 0;
        } else if (port->kind == PORT_ATOM_OUT) {
            port->atom->atom.size = port->atom_capacity - (uint32_t)sizeof(LV2_Atom);
            port->atom->atom.type = host->atom_chunk;
        }
    }
}

static void run_block(Host* host) {
    reset_atoms(host);
    lilv_instance_run(host->instance, host->block);
    worker_deliver(host);
}

static void preroll(Host* host, long samples) {
    memset(host->audio_in, 0, host->block * sizeof(float));
    for (long done = 0; done < samples; done += host->block) {
        run_block(host);
    }
}

static int read_block(Host* host, FILE* in, size_t* samples) {
    size_t bytes = fread(host->audio_in, 1, host->block * sizeof(float), in);
    if (ferror(in)) {
        return fail("reading input: %s", strerror(errno));
    }
    if (bytes % sizeof(float) != 0) {
        return fail("input is not a whole number of float32 samples");
    }
    *samples = bytes / sizeof(float);
    memset(host->audio_in + *samples, 0, (host->block - *samples) * sizeof(float));
    return 0;
}

static int process_stream(Host* host, FILE* in, FILE* out) {
    for (;;) {
        size_t samples = 0;
        if (read_block(host, in, &samples)) {
            return 1;
        }
        if (samples == 0) {
            return 0;
        }
        run_block(host);
        if (fwrite(host->audio_out, sizeof(float), samples, out) != samples) {
            return fail("writing output: %s", strerror(errno));
        }
        if (samples < host->block) {
            return 0;
        }
    }
}

/* Some plugins print to stdout (guitarix: "Using block size", "mlock"): when the audio goes to
 * stdout, it gets its own descriptor and the plugins' chatter is sent to stderr instead. */
static FILE* private_stdout(void) {
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE* out = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!out || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fail("cannot set up stdout: %s", strerror(errno));
        return NULL;
    }
    return out;
}

static FILE* open_stream(const char* path, const char* mode, FILE* fallback) {
    if (!path || strcmp(path, "-") == 0) {
        return fallback == stdout ? private_stdout() : fallback;
    }
    FILE* f = fopen(path, mode);
    if (!f) {
        fail("cannot open '%s': %s", path, strerror(errno));
    }
    return f;
}

typedef struct {
    FILE* in;
    FILE* out;
} Streams;

/* Opened before the plugin is instantiated, so that what it prints then cannot reach the audio. */
static int open_streams(const Options* opt, Streams* streams) {
    streams->in = open_stream(opt->input_path, "rb", stdin);
    streams->out = streams->in ? open_stream(opt->output_path, "wb", stdout) : NULL;
    return streams->in && streams->out ? 0 : 1;
}

static int close_streams(Streams* streams, int rc) {
    if (streams->out && fclose(streams->out) != 0 && rc == 0) {
        rc = fail("writing output: %s", strerror(errno));
    }
    if (streams->in && streams->in != stdin) {
        fclose(streams->in);
    }
    return rc;
}

static int process(Host* host, const Options* opt, Streams* streams) {
    connect_ports(host);
    lilv_instance_activate(host->instance);
    preroll(host, opt->preroll);
    int rc = process_stream(host, streams->in, streams->out);
    lilv_instance_deactivate(host->instance);
    return rc;
}

/* ---------------------------------------------------------------- main */

static int configure(Host* host, const Options* opt) {
    if (find_plugin(host, opt->plugin_uri) || setup_ports(host)) {
        return 1;
    }
    for (int i = 0; i < opt->setting_count; ++i) {
        if (apply_setting(host, &opt->settings[i])) {
            return 1;
        }
    }
    return 0;
}

static void cleanup(Host* host) {
    if (host->instance) {
        lilv_instance_free(host->instance);
    }
    for (uint32_t i = 0; i < host->port_count; ++i) {
        free(host->ports[i].samples);
        free(host->ports[i].atom);
    }
    free(host->ports);
    for (uint32_t i = 0; i < host->urids.count; ++i) {
        free(host->urids.uris[i]);
    }
    free(host->urids.uris);
    if (host->world) {
        lilv_world_free(host->world);
    }
}

int main(int argc, char** argv) {
    Options opt;
    if (parse_args(argc, argv, &opt)) {
        return 2;
    }
    Host host = {.block = opt.block};
    FeatureSet features;
    int rc = configure(&host, &opt);
    if (rc == 0 && opt.list_ports) {
        list_ports(&host);
    } else if (rc == 0) {
        Streams streams = {NULL, NULL};
        rc = open_streams(&opt, &streams) || allocate_buffers(&host) || instantiate(&host, &features, opt.rate);
        rc = rc ? rc : process(&host, &opt, &streams);
        rc = close_streams(&streams, rc);
    }
    cleanup(&host);
    for (int i = 0; i < opt.setting_count; ++i) {
        free((void*)opt.settings[i].symbol);
    }
    return rc ? 1 : 0;
}
