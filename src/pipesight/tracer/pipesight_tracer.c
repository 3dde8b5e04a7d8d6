/* pipesight tracer: records entry to and return from every pad push, push-list
 * and pull-range, with the OS thread id and the thread's CPU clock, so that
 * each element's own time on each streaming thread can be derived exactly.
 * Time spent in pad probes (the application's, C or Python) gets records of its
 * own, so it is not charged to the element downstream.
 *
 * Two files per process in $PIPESIGHT_TRACE_DIR:
 *   events-PID.bin   fixed-size binary records in a MAP_SHARED file mapping:
 *                    what was written survives a crash of the traced process
 *                    (the pages belong to the file, not to the process)
 *   defs-PID.jsonl   rare records as JSON lines: pads, elements, properties,
 *                    threads, links, caps, state changes, bus messages
 *
 * Ring mode (PIPESIGHT_RING_MB set, for `pipesight watch`): the events file is a ring of a
 * fixed number of slots (a power of two) that a reader consumes while it is written; record
 * index i goes to slot i mod slots and keeps its sequence number i + 1, so a reader tells a
 * finished record (seq = i + 1) from one being written (0) or one of a later lap (larger).
 * The header's flags say so (PS_FLAG_RING). Records that happen often but are not
 * definitions (states, bus messages, caps, EOS, clock marks, later property readings) go to
 * msgs-PID.jsonl instead, each numbered ("n"), rotated to msgs-PID.1.jsonl at half of
 * PIPESIGHT_MSGS_MAX_KB, so that both files stay bounded however long the process runs; a
 * "gone" definition says when an element or pad was finalized. The
 * events file is held with a shared flock while the process lives: a reader (or the next
 * traced process) tells a finished process's ring by taking the lock.
 *
 * The record layout is mirrored in pipesight/readers/pipesight_trace.py.
 *
 * Built with NVTX v3 headers (PS_HAVE_NVTX), it also puts marks carrying its own
 * CLOCK_MONOTONIC time into an Nsight Systems capture (which ties the two clocks
 * together, offset and drift) and, with PIPESIGHT_NVTX=1, one NVTX range per
 * element push and per probe span, so the Nsight GUI shows GStreamer beside CUDA.
 */
#define _GNU_SOURCE
#define PACKAGE "pipesight"
#include <gst/gst.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef PS_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

#define PS_MAGIC 0x31545350u /* "PST1" little endian */
/* 3: CPU time from CLOCK_THREAD_CPUTIME_ID, probe spans, a sequence number per record */
#define PS_VERSION 3u
#define PS_HEADER_SIZE 64u
#define PS_FLAG_RING 1u         /* PsHeader.flags: the records are a ring (see above) */

enum
{
  EV_PUSH_PRE = 1,
  EV_PUSH_POST = 2,
  EV_LIST_PRE = 3,
  EV_LIST_POST = 4,
  EV_PULL_PRE = 5,
  EV_PULL_POST = 6,
  /* the application's pad probes on `pad` run between these two (within one push) */
  EV_PROBE_PRE = 7,
  EV_PROBE_POST = 8,
};

/* PsRecord.probe on *_PRE records: the pushing pad / its peer had probes of others */
#define PS_PROBES_SRC 1u
#define PS_PROBES_SINK 2u

typedef struct
{
  guint8 kind;
  guint8 probe;                 /* PS_PROBES_* */
  guint16 buffer_flags;
  guint32 tid;
  guint64 ts;                   /* GStreamer tracer time, ns since gst_init */
  guint64 cpu_ns;               /* the thread's CPU time; G_MAXUINT64 = not read this time */
  guint32 pad;                  /* pad id (defs: "pad") */
  guint32 peer;                 /* peer pad id at the time of the call, 0 = none */
  guint32 size;                 /* bytes (buffer / list total / pulled) */
  gint32 count;                 /* buffers in the call; flow return on *_POST */
  guint64 pts;                  /* first buffer's PTS, G_MAXUINT64 = none */
  guint32 vcsw;                 /* voluntary context switches of the thread: it blocked */
  guint32 ivcsw;                /* involuntary ones: it was preempted */
  guint64 seq;                  /* record index + 1, written last: 0 = never completed */
} PsRecord;

G_STATIC_ASSERT (sizeof (PsRecord) == 64);

typedef struct
{
  guint32 magic;
  guint32 version;
  guint32 record_size;
  guint32 header_size;
  guint64 used;                 /* bytes reserved after the header (atomic) */
  guint64 capacity;             /* bytes available after the header */
  guint32 pid;
  guint32 dropped;              /* records lost because the file was full */
  guint32 flags;                /* PS_FLAG_*; 0 in files written before ring mode */
} PsHeader;

typedef struct _PsTracer
{
  GstTracer parent;
} PsTracer;

typedef struct _PsTracerClass
{
  GstTracerClass parent_class;
} PsTracerClass;

static GType ps_tracer_get_type (void);
G_DEFINE_TYPE (PsTracer, ps_tracer, GST_TYPE_TRACER);

static GMutex defs_lock;
static FILE *defs_file = NULL;
static PsHeader *header = NULL;
static guint8 *records = NULL;
static int events_fd = -1;
static guint64 map_size = 0;
/* ring mode: slots - 1 (slots is a power of two), and the rotating file of frequent records */
static gboolean ring_mode = FALSE;
static guint64 ring_mask = 0;
static FILE *msgs_file = NULL;
static gchar *msgs_path = NULL, *msgs_old_path = NULL;
static guint64 msgs_bytes = 0, msgs_cap = 4096ull * 1024ull, msgs_n = 0;
static GQuark props_quark;
static guint32 next_pad_id = 1;
static guint32 next_element_id = 1;
static GQuark pad_quark, element_quark;
static __thread guint32 cached_tid = 0;
/* the thread's CPU clock is read (one getrusage call, the costly part of a record) only when
 * enough wall time has passed since the last reading: shorter stretches are on the CPU */
static __thread GstClockTime last_reading = 0;
static __thread gboolean have_reading = FALSE;
static guint64 min_reading_ns = 20000;
static __thread gboolean thread_announced = FALSE;
/* GStreamer's task pool hands a thread from one streaming task to the next and renames it
 * (a source removed, another added): the name is read again at most once a second */
#define PS_NAME_CHECK_NS 1000000000ull
static __thread GstClockTime name_checked = 0;
static __thread char thread_name[16];
static gboolean clock_announced = FALSE;

static guint64
clock_ns (clockid_t id)
{
  struct timespec t;
  clock_gettime (id, &t);
  return (guint64) t.tv_sec * 1000000000ull + (guint64) t.tv_nsec;
}

static guint32
current_tid (void)
{
  if (G_UNLIKELY (cached_tid == 0))
    cached_tid = (guint32) syscall (SYS_gettid);
  return cached_tid;
}

/* GStreamer's tracer time is CLOCK_MONOTONIC (gst_util_get_timestamp) less its start time,
 * which is private: this is that start time as measured at the first hooks (to within the
 * time between GStreamer's reading and ours, well under a microsecond) */
static GstClockTime tracer_epoch = 0;
static gboolean have_epoch = FALSE;

static void
learn_epoch (GstClockTime ts)
{
  GstClockTime e = gst_util_get_timestamp () - ts;
  if (!have_epoch || e < tracer_epoch) {
    tracer_epoch = e;
    have_epoch = TRUE;
  }
}

/* ---- JSON writing (defs file, under defs_lock) ---- */

static void
json_string (GString * out, const gchar * s)
{
  const guchar *p;
  g_string_append_c (out, '"');
  if (s) {
    for (p = (const guchar *) s; *p; p++) {
      switch (*p) {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, *p);
      }
    }
  }
  g_string_append_c (out, '"');
}

static void
defs_write (GString * line)
{
  g_string_append_c (line, '\n');
  if (defs_file) {
    fwrite (line->str, 1, line->len, defs_file);
    /* flushed at once: these records are rare and must survive a crash */
    fflush (defs_file);
  }
}

/* A record that recurs for as long as the pipeline runs (states, messages, caps, EOS, clock
 * marks): in ring mode it goes to the rotating, numbered msgs file, else to the defs file.
 * Under defs_lock. */
static void
volatile_write (GString * line)
{
  if (!msgs_file) {
    defs_write (line);
    return;
  }
  /* the number lets a reader count lines rotated away before it read them */
  {
    gchar *n = g_strdup_printf ("\"n\":%" G_GUINT64_FORMAT ",", ++msgs_n);
    g_string_insert (line, 1, n);
    g_free (n);
  }
  g_string_append_c (line, '\n');
  fwrite (line->str, 1, line->len, msgs_file);
  fflush (msgs_file);
  msgs_bytes += line->len;
  if (msgs_bytes >= msgs_cap / 2) {
    FILE *f;
    fclose (msgs_file);
    msgs_file = NULL;
    if (rename (msgs_path, msgs_old_path) == 0 && (f = fopen (msgs_path, "w")) != NULL)
      msgs_file = f;
    else                        /* cannot rotate: fall back to the defs file */
      g_printerr ("pipesight tracer: cannot rotate %s\n", msgs_path);
    msgs_bytes = 0;
  }
}

static void
announce_clock_locked (GstClockTime ts)
{
  GString *l;
  learn_epoch (ts);
  if (clock_announced)
    return;
  clock_announced = TRUE;
  l = g_string_new ("{\"t\":\"clock\"");
  g_string_append_printf (l,
      ",\"ts\":%" G_GUINT64_FORMAT ",\"monotonic_ns\":%" G_GUINT64_FORMAT
      ",\"realtime_ns\":%" G_GUINT64_FORMAT ",\"pid\":%d}", (guint64) ts,
      clock_ns (CLOCK_MONOTONIC), clock_ns (CLOCK_REALTIME), (int) getpid ());
  defs_write (l);
  g_string_free (l, TRUE);
}

static void
announce_thread (GstClockTime ts)
{
  char name[32] = { 0 };
  GString *l;
  prctl (PR_GET_NAME, name, 0, 0, 0);
  name_checked = ts;
  if (G_LIKELY (thread_announced) && strncmp (name, thread_name, sizeof thread_name) == 0)
    return;
  thread_announced = TRUE;
  g_strlcpy (thread_name, name, sizeof thread_name);
  l = g_string_new ("{\"t\":\"thread\"");
  g_string_append_printf (l, ",\"tid\":%u,\"ts\":%" G_GUINT64_FORMAT ",\"name\":",
      current_tid (), (guint64) ts);
  json_string (l, name);
  g_string_append_c (l, '}');
  g_mutex_lock (&defs_lock);
  announce_clock_locked (ts);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

/* ---- identities ---- */

static guint32 element_id_locked (GstElement * element);

static void
append_value (GString * l, const GValue * v)
{
  GType t = G_VALUE_TYPE (v);
  if (t == G_TYPE_BOOLEAN)
    g_string_append (l, g_value_get_boolean (v) ? "true" : "false");
  else if (t == G_TYPE_INT)
    g_string_append_printf (l, "%d", g_value_get_int (v));
  else if (t == G_TYPE_UINT)
    g_string_append_printf (l, "%u", g_value_get_uint (v));
  else if (t == G_TYPE_INT64)
    g_string_append_printf (l, "%" G_GINT64_FORMAT, g_value_get_int64 (v));
  else if (t == G_TYPE_UINT64)
    g_string_append_printf (l, "%" G_GUINT64_FORMAT, g_value_get_uint64 (v));
  else if (t == G_TYPE_LONG)
    g_string_append_printf (l, "%ld", g_value_get_long (v));
  else if (t == G_TYPE_ULONG)
    g_string_append_printf (l, "%lu", g_value_get_ulong (v));
  else if (t == G_TYPE_FLOAT || t == G_TYPE_DOUBLE) {
    gdouble d = (t == G_TYPE_FLOAT) ? g_value_get_float (v) : g_value_get_double (v);
    if (isfinite (d))
      g_string_append_printf (l, "%.17g", d);
    else
      g_string_append (l, "null");
  } else if (G_TYPE_IS_ENUM (t)) {
    GEnumValue *ev = g_enum_get_value (G_ENUM_CLASS (g_type_class_peek (t)),
        g_value_get_enum (v));
    json_string (l, ev ? ev->value_nick : "?");
  } else if (G_TYPE_IS_FLAGS (t))
    g_string_append_printf (l, "%u", g_value_get_flags (v));
  else if (t == G_TYPE_STRING) {
    const gchar *s = g_value_get_string (v);
    if (!s)
      g_string_append (l, "null");
    else if (strlen (s) > 256) {
      gchar *cut = g_strndup (s, 256);
      json_string (l, cut);
      g_free (cut);
    } else
      json_string (l, s);
  } else
    g_string_append (l, "null");
}

static gboolean
is_scalar_type (GType t)
{
  return t == G_TYPE_BOOLEAN || t == G_TYPE_INT || t == G_TYPE_UINT
      || t == G_TYPE_INT64 || t == G_TYPE_UINT64 || t == G_TYPE_LONG
      || t == G_TYPE_ULONG || t == G_TYPE_FLOAT || t == G_TYPE_DOUBLE
      || G_TYPE_IS_ENUM (t) || G_TYPE_IS_FLAGS (t) || t == G_TYPE_STRING;
}

/* The element's readable scalar properties, once it is configured (READY to
 * PAUSED): queue limits, leaky, sync, is-live and the like, read by analyses
 * without any knowledge of element names. */
static void
write_properties (GstElement * element, guint32 id, GstClockTime ts)
{
  GParamSpec **specs;
  guint n, i;
  GString *l = g_string_new ("{\"t\":\"props\"");
  g_string_append_printf (l, ",\"element\":%u,\"ts\":%" G_GUINT64_FORMAT
      ",\"props\":{", id, (guint64) ts);
  specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (element), &n);
  gboolean first = TRUE;
  for (i = 0; i < n; i++) {
    GParamSpec *p = specs[i];
    GValue v = G_VALUE_INIT;
    if (!(p->flags & G_PARAM_READABLE) || !is_scalar_type (p->value_type))
      continue;
    if (!strcmp (p->name, "name") || !strcmp (p->name, "parent"))
      continue;
    g_value_init (&v, p->value_type);
    g_object_get_property (G_OBJECT (element), p->name, &v);
    if (!first)
      g_string_append_c (l, ',');
    first = FALSE;
    json_string (l, p->name);
    g_string_append_c (l, ':');
    append_value (l, &v);
    g_value_unset (&v);
  }
  g_free (specs);
  g_string_append (l, "}}");
  g_mutex_lock (&defs_lock);
  /* the first reading describes the element (a definition); later ones (each time it goes
   * from READY to PAUSED again) recur */
  if (g_object_get_qdata (G_OBJECT (element), props_quark) == NULL) {
    g_object_set_qdata (G_OBJECT (element), props_quark, GUINT_TO_POINTER (1));
    defs_write (l);
  } else
    volatile_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static guint32
element_id_locked (GstElement * element)
{
  guint32 id;
  GString *l;
  GstObject *parent;
  GstElementFactory *factory;
  guint32 parent_id = 0;

  if (!element)
    return 0;
  id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (element), element_quark));
  if (id)
    return id;
  id = next_element_id++;
  g_object_set_qdata (G_OBJECT (element), element_quark, GUINT_TO_POINTER (id));
  parent = GST_OBJECT_PARENT (element);
  if (parent && GST_IS_ELEMENT (parent))
    parent_id = element_id_locked (GST_ELEMENT (parent));
  factory = gst_element_get_factory (element);
  l = g_string_new ("{\"t\":\"element\"");
  g_string_append_printf (l, ",\"id\":%u,\"name\":", id);
  json_string (l, GST_OBJECT_NAME (element));
  g_string_append (l, ",\"type\":");
  json_string (l, G_OBJECT_TYPE_NAME (element));
  g_string_append (l, ",\"factory\":");
  if (factory)
    json_string (l, GST_OBJECT_NAME (factory));
  else
    g_string_append (l, "null");
  g_string_append_printf (l,
      ",\"parent\":%u,\"is_bin\":%s,\"is_sink\":%s,\"is_source\":%s,\"ptr\":\"%p\"}",
      parent_id, GST_IS_BIN (element) ? "true" : "false",
      GST_OBJECT_FLAG_IS_SET (element, GST_ELEMENT_FLAG_SINK) ? "true" : "false",
      GST_OBJECT_FLAG_IS_SET (element,
          GST_ELEMENT_FLAG_SOURCE) ? "true" : "false", (void *) element);
  defs_write (l);
  g_string_free (l, TRUE);
  return id;
}

static GQuark orphan_quark;

/* A pad recorded without a parent has one now: a "padparent" record gives it. */
static void
adopt (GstPad * pad, guint32 id)
{
  GstObject *parent = GST_OBJECT_PARENT (pad);
  guint32 element;
  GString *l;
  if (parent == NULL || !GST_IS_ELEMENT (parent))
    return;
  g_mutex_lock (&defs_lock);
  if (g_object_get_qdata (G_OBJECT (pad), orphan_quark) == NULL) {
    g_mutex_unlock (&defs_lock);
    return;
  }
  g_object_set_qdata (G_OBJECT (pad), orphan_quark, NULL);
  element = element_id_locked (GST_ELEMENT (parent));
  l = g_string_new ("{\"t\":\"padparent\"");
  g_string_append_printf (l, ",\"id\":%u,\"element\":%u}", id, element);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static guint32
pad_id (GstPad * pad)
{
  guint32 id, element = 0, parent_pad = 0;
  GstObject *parent;
  GString *l;

  if (!pad)
    return 0;
  id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (pad), pad_quark));
  if (G_LIKELY (id)) {
    /* a pad first seen before it had a parent (a demuxer's dynamic pad, being linked before
     * it is added): say whose it is once it has one */
    if (G_UNLIKELY (g_object_get_qdata (G_OBJECT (pad), orphan_quark) != NULL))
      adopt (pad, id);
    return id;
  }
  g_mutex_lock (&defs_lock);
  id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (pad), pad_quark));
  if (id) {
    g_mutex_unlock (&defs_lock);
    return id;
  }
  parent = GST_OBJECT_PARENT (pad);
  if (parent && GST_IS_ELEMENT (parent))
    element = element_id_locked (GST_ELEMENT (parent));
  else if (parent && GST_IS_PAD (parent)) {
    /* the internal pad of a ghost pad: its parent is the ghost pad */
    g_mutex_unlock (&defs_lock);
    parent_pad = pad_id (GST_PAD (parent));
    g_mutex_lock (&defs_lock);
    id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (pad), pad_quark));
    if (id) {
      g_mutex_unlock (&defs_lock);
      return id;
    }
  }
  id = next_pad_id++;
  g_object_set_qdata (G_OBJECT (pad), pad_quark, GUINT_TO_POINTER (id));
  if (element == 0 && parent_pad == 0)
    g_object_set_qdata (G_OBJECT (pad), orphan_quark, GUINT_TO_POINTER (1));
  l = g_string_new ("{\"t\":\"pad\"");
  g_string_append_printf (l, ",\"id\":%u,\"name\":", id);
  json_string (l, GST_OBJECT_NAME (pad));
  g_string_append_printf (l,
      ",\"dir\":\"%s\",\"element\":%u,\"parent_pad\":%u,\"ghost\":%s,\"proxy\":%s}",
      GST_PAD_DIRECTION (pad) == GST_PAD_SRC ? "src" :
      GST_PAD_DIRECTION (pad) == GST_PAD_SINK ? "sink" : "unknown", element,
      parent_pad, GST_IS_GHOST_PAD (pad) ? "true" : "false",
      GST_IS_PROXY_PAD (pad) ? "true" : "false");
  defs_write (l);
  g_string_free (l, TRUE);
  g_mutex_unlock (&defs_lock);
  return id;
}

/* ---- NVTX (Nsight Systems) ---- */

#ifdef PS_HAVE_NVTX
static nvtxDomainHandle_t nvtx_domain = NULL;
static gboolean nvtx_ranges = FALSE;    /* PIPESIGHT_NVTX=1 */
static GQuark nvtx_quark;
static guint64 last_mark_ts = 0;
static guint32 marks_made = 0;
#define PS_MARK_EVERY_NS 100000000ull  /* 10 a second: a short capture window still gets several */

/* An NVTX mark whose payload is this process's CLOCK_MONOTONIC time at the mark: Nsight
 * Systems stamps it with its own clock, so each mark is one point of the mapping between the
 * two clocks, and several give its drift. */
static void
clock_mark (const char *why)
{
  nvtxEventAttributes_t a;
  char msg[64];
  guint64 mono, after;
  GString *l;
  if (!nvtx_domain)
    return;
  memset (&a, 0, sizeof a);
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.messageType = NVTX_MESSAGE_TYPE_ASCII;
  g_snprintf (msg, sizeof msg, "pipesight-clock %s", why);
  a.message.ascii = msg;
  a.payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
  mono = clock_ns (CLOCK_MONOTONIC);
  a.payload.ullValue = mono;
  nvtxDomainMarkEx (nvtx_domain, &a);
  after = clock_ns (CLOCK_MONOTONIC);
  marks_made++;
  /* the mark's own duration bounds how far Nsight's stamp can be from the payload */
  l = g_string_new ("{\"t\":\"clockmark\"");
  g_string_append_printf (l, ",\"monotonic_ns\":%" G_GUINT64_FORMAT ",\"call_ns\":%"
      G_GUINT64_FORMAT ",\"why\":\"%s\",\"tid\":%u}", mono, after - mono, why, current_tid ());
  g_mutex_lock (&defs_lock);
  volatile_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static inline void
clock_mark_maybe (GstClockTime ts)
{
  guint64 last = __atomic_load_n (&last_mark_ts, __ATOMIC_RELAXED);
  if (G_LIKELY (ts - last < PS_MARK_EVERY_NS) || !nvtx_domain)
    return;
  /* one thread makes the mark */
  if (__atomic_compare_exchange_n (&last_mark_ts, &last, ts, FALSE, __ATOMIC_RELAXED,
          __ATOMIC_RELAXED))
    clock_mark ("tick");
}

static nvtxStringHandle_t
nvtx_name (GstObject * obj, const gchar * prefix)
{
  nvtxStringHandle_t h = g_object_get_qdata (G_OBJECT (obj), nvtx_quark);
  if (G_UNLIKELY (h == NULL)) {
    gchar *name;
    if (GST_IS_PAD (obj)) {
      GstObject *parent = GST_OBJECT_PARENT (obj);
      name = g_strdup_printf ("%s%s:%s", prefix, parent ? GST_OBJECT_NAME (parent) : "",
          GST_OBJECT_NAME (obj));
    } else
      name = g_strdup_printf ("%s%s", prefix, GST_OBJECT_NAME (obj));
    h = nvtxDomainRegisterStringA (nvtx_domain, name);
    g_free (name);
    g_object_set_qdata (G_OBJECT (obj), nvtx_quark, h);
  }
  return h;
}

static void
nvtx_push_named (nvtxStringHandle_t h)
{
  nvtxEventAttributes_t a;
  memset (&a, 0, sizeof a);
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
  a.message.registered = h;
  nvtxDomainRangePushEx (nvtx_domain, &a);
}

/* a range named after the element that receives a push (or serves a pull) */
static inline void
nvtx_push_element (GstPad * peer)
{
  GstObject *parent;
  if (G_LIKELY (!nvtx_ranges))
    return;
  parent = peer ? GST_OBJECT_PARENT (peer) : NULL;
  nvtx_push_named (nvtx_name (parent && GST_IS_ELEMENT (parent) ? parent :
          peer ? GST_OBJECT_CAST (peer) : NULL, ""));
}

static inline void
nvtx_push_probe (GstPad * pad)
{
  if (G_LIKELY (!nvtx_ranges))
    return;
  nvtx_push_named (nvtx_name (GST_OBJECT_CAST (pad), "probes "));
}

static inline void
nvtx_pop (void)
{
  if (G_LIKELY (!nvtx_ranges))
    return;
  nvtxDomainRangePop (nvtx_domain);
}

static void
nvtx_start (void)
{
  const gchar *r = g_getenv ("PIPESIGHT_NVTX");
  nvtx_quark = g_quark_from_static_string ("pipesight-nvtx-name");
  nvtx_domain = nvtxDomainCreateA ("pipesight");
  nvtx_ranges = r != NULL && r[0] == '1';
  clock_mark ("start");
}
#endif

/* ---- binary records ---- */

static inline void
emit_full (guint8 kind, GstClockTime ts, GstPad * pad, GstPad * peer, guint32 size,
    gint32 count, guint64 pts, guint16 flags, guint8 probe)
{
  guint64 off;
  PsRecord *r;

  if (G_UNLIKELY (!header))
    return;
  if (G_UNLIKELY (!thread_announced || ts - name_checked >= PS_NAME_CHECK_NS))
    announce_thread (ts);
  off = __atomic_fetch_add (&header->used, sizeof (PsRecord), __ATOMIC_RELAXED);
  if (ring_mode) {
    r = (PsRecord *) (records + ((off / sizeof (PsRecord)) & ring_mask) * sizeof (PsRecord));
    /* the slot's earlier lap is being replaced: say so before any field changes, so that a
     * reader never takes a record half old, half new for the old one */
    __atomic_store_n (&r->seq, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence (__ATOMIC_RELEASE);
  } else if (G_UNLIKELY (off + sizeof (PsRecord) > header->capacity)) {
    __atomic_fetch_add (&header->dropped, 1, __ATOMIC_RELAXED);
    return;
  } else
    r = (PsRecord *) (records + off);
  r->cpu_ns = G_MAXUINT64;
  r->vcsw = r->ivcsw = 0;
  if (!have_reading || ts - last_reading >= min_reading_ns) {
    struct rusage ru;
    struct timespec t;
    /* the thread's CPU clock is exact (the scheduler's run time up to now); getrusage's
     * times lag until the next tick or switch, so it is read for the switch counts only */
    if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t) == 0
        && getrusage (RUSAGE_THREAD, &ru) == 0) {
      r->cpu_ns = (guint64) t.tv_sec * 1000000000ull + (guint64) t.tv_nsec;
      r->vcsw = (guint32) ru.ru_nvcsw;
      r->ivcsw = (guint32) ru.ru_nivcsw;
      last_reading = ts;
      have_reading = TRUE;
    }
  }
  r->buffer_flags = flags;
  r->probe = probe;
  r->tid = current_tid ();
  r->ts = ts;
  r->pad = pad_id (pad);
  r->peer = peer ? pad_id (peer) : 0;
  r->size = size;
  r->count = count;
  r->pts = pts;
  r->kind = kind;
  /* the sequence number last: a record whose seq is not its index + 1 was never completed */
  __atomic_store_n (&r->seq, off / sizeof (PsRecord) + 1, __ATOMIC_RELEASE);
#ifdef PS_HAVE_NVTX
  clock_mark_maybe (ts);
#endif
}

static inline void
emit (guint8 kind, GstClockTime ts, GstPad * pad, GstPad * peer, guint32 size,
    gint32 count, guint64 pts, guint16 flags)
{
  emit_full (kind, ts, pad, peer, size, count, pts, flags, 0);
}

/* ---- pad probes ----
 *
 * The application's probes on a pushing src pad run between its push-pre hook and the peer's
 * chain; those on the peer sink pad run inside the chain, before the element's chain
 * function, and no tracer hook marks their end. So the tracer adds its own probe, last on
 * each pad that carries probes of others (probes run in the order they were added), and that
 * probe closes the span. A span still open when the push returns ends there: a probe dropped
 * the buffer or handled it. Only the push hooks are needed, so this works on every GStreamer
 * version that has tracers. */

#define PS_MAX_DEPTH 64
static __thread guint depth = 0;
static __thread GstPad *open_probe[PS_MAX_DEPTH];   /* pad whose probes run now, per depth */
static __thread GstPad *next_probe[PS_MAX_DEPTH];   /* the peer's, once the src pad's end */
static GQuark marker_quark;

static GstPadProbeReturn marker_probe (GstPad * pad, GstPadProbeInfo * info, gpointer u);

/* Whether pad has probes of others, with pipesight's marker made the last of its probes. */
static gboolean
others_probes (GstPad * pad)
{
  GHook *h, *last = NULL;
  gboolean others = FALSE, last_is_ours;
  gulong ours;

  if (G_LIKELY (pad == NULL || pad->num_probes == 0))
    return FALSE;
  GST_OBJECT_LOCK (pad);
  for (h = pad->probes.hooks; h; h = h->next) {
    if (!G_HOOK_IS_VALID (h))
      continue;
    last = h;
    if (h->func != (gpointer) marker_probe)
      others = TRUE;
  }
  last_is_ours = last != NULL && last->func == (gpointer) marker_probe;
  ours = GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (pad), marker_quark));
  GST_OBJECT_UNLOCK (pad);
  if (!others || last_is_ours)
    return others;
  /* a probe was added after ours (or ours is not there yet): put ours last again */
  if (ours)
    gst_pad_remove_probe (pad, ours);
  ours = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      marker_probe, NULL, NULL);
  g_object_set_qdata (G_OBJECT (pad), marker_quark, GSIZE_TO_POINTER (ours));
  return TRUE;
}

static void
probe_span_open (GstClockTime ts, GstPad * pad)
{
  emit (EV_PROBE_PRE, ts, pad, NULL, 0, 0, G_MAXUINT64, 0);
#ifdef PS_HAVE_NVTX
  nvtx_push_probe (pad);
#endif
  open_probe[depth] = pad;
}

static void
probe_span_close (GstClockTime ts)
{
  GstPad *pad = open_probe[depth];
  open_probe[depth] = NULL;
#ifdef PS_HAVE_NVTX
  nvtx_pop ();
#endif
  emit (EV_PROBE_POST, ts, pad, NULL, 0, 0, G_MAXUINT64, 0);
}

static GstPadProbeReturn
marker_probe (GstPad * pad, GstPadProbeInfo * info, gpointer u)
{
  GstClockTime ts;
  if (depth == 0 || depth >= PS_MAX_DEPTH || open_probe[depth] != pad)
    return GST_PAD_PROBE_OK;
  ts = gst_util_get_timestamp () - tracer_epoch;
  probe_span_close (ts);
  if (next_probe[depth]) {
    GstPad *peer = next_probe[depth];
    next_probe[depth] = NULL;
    probe_span_open (ts, peer);
  }
  return GST_PAD_PROBE_OK;
}

/* after a *_PRE record of a push from pad: open the probe span(s) of pad and its peer */
static inline void
push_enter (GstClockTime ts, GstPad * pad, GstPad * peer, guint8 probe)
{
  depth++;
  if (G_UNLIKELY (depth >= PS_MAX_DEPTH))
    return;
  open_probe[depth] = next_probe[depth] = NULL;
  if (G_LIKELY (probe == 0))
    return;
  if (probe & PS_PROBES_SRC) {
    probe_span_open (ts, pad);
    if (probe & PS_PROBES_SINK)
      next_probe[depth] = peer;
  } else
    probe_span_open (ts, peer);
}

/* before a *_POST record: close a span that no marker closed */
static inline void
push_leave (GstClockTime ts)
{
  if (G_LIKELY (depth > 0 && depth < PS_MAX_DEPTH) && G_UNLIKELY (open_probe[depth] != NULL))
    probe_span_close (ts);
  if (G_LIKELY (depth > 0 && depth < PS_MAX_DEPTH))
    next_probe[depth] = NULL;
  if (depth > 0)
    depth--;
}

static inline guint8
probe_flags (GstPad * pad, GstPad * peer)
{
  return (others_probes (pad) ? PS_PROBES_SRC : 0) | (others_probes (peer) ? PS_PROBES_SINK : 0);
}

static void
on_push_pre (GObject * self, GstClockTime ts, GstPad * pad, GstBuffer * buf)
{
  GstPad *peer = GST_PAD_PEER (pad);
  guint8 probe = probe_flags (pad, peer);
  emit_full (EV_PUSH_PRE, ts, pad, peer, (guint32) gst_buffer_get_size (buf),
      1, GST_BUFFER_PTS (buf), (guint16) GST_BUFFER_FLAGS (buf), probe);
#ifdef PS_HAVE_NVTX
  nvtx_push_element (peer);
#endif
  push_enter (ts, pad, peer, probe);
}

static void
on_push_post (GObject * self, GstClockTime ts, GstPad * pad, GstFlowReturn res)
{
  push_leave (ts);
#ifdef PS_HAVE_NVTX
  nvtx_pop ();
#endif
  emit (EV_PUSH_POST, ts, pad, NULL, 0, (gint32) res, G_MAXUINT64, 0);
}

static void
on_list_pre (GObject * self, GstClockTime ts, GstPad * pad, GstBufferList * list)
{
  guint n = gst_buffer_list_length (list), i;
  guint64 bytes = 0;
  GstBuffer *first = n ? gst_buffer_list_get (list, 0) : NULL;
  GstPad *peer = GST_PAD_PEER (pad);
  guint8 probe = probe_flags (pad, peer);
  for (i = 0; i < n; i++)
    bytes += gst_buffer_get_size (gst_buffer_list_get (list, i));
  emit_full (EV_LIST_PRE, ts, pad, peer, (guint32) MIN (bytes, G_MAXUINT32),
      (gint32) n, first ? GST_BUFFER_PTS (first) : G_MAXUINT64,
      first ? (guint16) GST_BUFFER_FLAGS (first) : 0, probe);
#ifdef PS_HAVE_NVTX
  nvtx_push_element (peer);
#endif
  push_enter (ts, pad, peer, probe);
}

static void
on_list_post (GObject * self, GstClockTime ts, GstPad * pad, GstFlowReturn res)
{
  push_leave (ts);
#ifdef PS_HAVE_NVTX
  nvtx_pop ();
#endif
  emit (EV_LIST_POST, ts, pad, NULL, 0, (gint32) res, G_MAXUINT64, 0);
}

static void
on_pull_pre (GObject * self, GstClockTime ts, GstPad * pad, guint64 offset,
    guint size)
{
  emit (EV_PULL_PRE, ts, pad, GST_PAD_PEER (pad), size, 0, G_MAXUINT64, 0);
#ifdef PS_HAVE_NVTX
  nvtx_push_element (GST_PAD_PEER (pad));
#endif
  /* pulls nest like pushes; their probes are not bracketed */
  push_enter (ts, pad, NULL, 0);
}

static void
on_pull_post (GObject * self, GstClockTime ts, GstPad * pad, GstBuffer * buf,
    GstFlowReturn res)
{
  push_leave (ts);
#ifdef PS_HAVE_NVTX
  nvtx_pop ();
#endif
  emit (EV_PULL_POST, ts, pad, NULL,
      (res == GST_FLOW_OK && buf) ? (guint32) gst_buffer_get_size (buf) : 0,
      (gint32) res, (res == GST_FLOW_OK && buf) ? GST_BUFFER_PTS (buf) : G_MAXUINT64,
      (res == GST_FLOW_OK && buf) ? (guint16) GST_BUFFER_FLAGS (buf) : 0);
}

static void
on_link_post (GObject * self, GstClockTime ts, GstPad * src, GstPad * sink,
    GstPadLinkReturn res)
{
  guint32 a, b;
  GString *l;
  if (res != GST_PAD_LINK_OK)
    return;
  a = pad_id (src);
  b = pad_id (sink);
  l = g_string_new ("{\"t\":\"link\"");
  g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"src\":%u,\"sink\":%u}",
      (guint64) ts, a, b);
  g_mutex_lock (&defs_lock);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static void
on_event_pre (GObject * self, GstClockTime ts, GstPad * pad, GstEvent * event)
{
  GString *l;
  guint32 id;
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gchar *s;
    gst_event_parse_caps (event, &caps);
    s = gst_caps_to_string (caps);
    id = pad_id (pad);
    l = g_string_new ("{\"t\":\"caps\"");
    g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"pad\":%u,\"caps\":",
        (guint64) ts, id);
    json_string (l, s);
    g_string_append_c (l, '}');
    g_free (s);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    id = pad_id (pad);
    l = g_string_new ("{\"t\":\"eos\"");
    g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"pad\":%u,\"tid\":%u}",
        (guint64) ts, id, current_tid ());
  } else
    return;
  g_mutex_lock (&defs_lock);
  volatile_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static void
on_bin_add_post (GObject * self, GstClockTime ts, GstBin * bin,
    GstElement * element, gboolean result)
{
  guint32 b, e;
  GString *l;
  if (!result)
    return;
  g_mutex_lock (&defs_lock);
  b = element_id_locked (GST_ELEMENT (bin));
  e = element_id_locked (element);
  g_mutex_unlock (&defs_lock);
  l = g_string_new ("{\"t\":\"parent\"");
  g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"element\":%u,\"parent\":%u}",
      (guint64) ts, e, b);
  g_mutex_lock (&defs_lock);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

/* Ring mode: an element or a pad was finalized. Ids are never reused (they are counters kept
 * in qdata), so this is not about telling objects apart: it lets a reader that runs for weeks
 * forget the definitions of what has gone (sources coming and going) instead of keeping them
 * all. The object is being finalized: its qdata is still there, its name and lock are not. */
static void
on_object_destroyed (GObject * self, GstClockTime ts, GstObject * object)
{
  const gchar *kind;
  guint32 id;
  GString *l;
  if (GST_IS_ELEMENT (object)) {
    kind = "element";
    id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (object), element_quark));
  } else if (GST_IS_PAD (object)) {
    kind = "pad";
    id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (object), pad_quark));
  } else
    return;
  if (!id)
    return;
  l = g_string_new ("{\"t\":\"gone\"");
  g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"%s\":%u}", (guint64) ts, kind,
      id);
  g_mutex_lock (&defs_lock);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static void
on_state_post (GObject * self, GstClockTime ts, GstElement * element,
    GstStateChange transition, GstStateChangeReturn result)
{
  guint32 id;
  GString *l;
  g_mutex_lock (&defs_lock);
  announce_clock_locked (ts);
  id = element_id_locked (element);
  g_mutex_unlock (&defs_lock);
  l = g_string_new ("{\"t\":\"state\"");
  g_string_append_printf (l,
      ",\"ts\":%" G_GUINT64_FORMAT ",\"element\":%u,\"from\":\"%s\",\"to\":\"%s\",\"result\":\"%s\"}",
      (guint64) ts, id,
      gst_element_state_get_name (GST_STATE_TRANSITION_CURRENT (transition)),
      gst_element_state_get_name (GST_STATE_TRANSITION_NEXT (transition)),
      gst_element_state_change_return_get_name (result));
  g_mutex_lock (&defs_lock);
  volatile_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    write_properties (element, id, ts);
  /* the graph of each top-level pipeline as it starts playing and as it stops: applications
   * other than gst-launch-1.0 rarely dump it themselves */
  if (GST_IS_BIN (element) && GST_OBJECT_PARENT (element) == NULL
      && result != GST_STATE_CHANGE_FAILURE
      && (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING
          || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
      && g_getenv ("GST_DEBUG_DUMP_DOT_DIR")) {
    gchar *name = g_strdup_printf ("pipesight.%s.%s", GST_OBJECT_NAME (element),
        transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING ? "playing" : "stopping");
    gst_debug_bin_to_dot_file (GST_BIN (element), GST_DEBUG_GRAPH_SHOW_ALL, name);
    g_free (name);
  }
}

static void
on_message_pre (GObject * self, GstClockTime ts, GstElement * element,
    GstMessage * msg)
{
  GString *l;
  guint32 id;
  GstMessageType type = GST_MESSAGE_TYPE (msg);

  if (!(type & (GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_QOS |
              GST_MESSAGE_EOS | GST_MESSAGE_LATENCY)))
    return;
  /* bins post their children's messages again on their way up: keep the original only */
  if (GST_MESSAGE_SRC (msg) != GST_OBJECT_CAST (element))
    return;
  g_mutex_lock (&defs_lock);
  id = element_id_locked (element);
  g_mutex_unlock (&defs_lock);
  l = g_string_new ("{\"t\":\"message\"");
  g_string_append_printf (l, ",\"ts\":%" G_GUINT64_FORMAT ",\"element\":%u,\"tid\":%u,\"type\":",
      (guint64) ts, id, current_tid ());
  json_string (l, GST_MESSAGE_TYPE_NAME (msg));
  if (type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING) {
    GError *err = NULL;
    gchar *dbg = NULL;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, &dbg);
    else
      gst_message_parse_warning (msg, &err, &dbg);
    g_string_append (l, ",\"text\":");
    json_string (l, err ? err->message : NULL);
    g_string_append (l, ",\"debug\":");
    json_string (l, dbg);
    g_clear_error (&err);
    g_free (dbg);
  } else if (type == GST_MESSAGE_QOS) {
    gboolean live;
    guint64 running_time, stream_time, timestamp, duration;
    gint64 jitter;
    gdouble proportion;
    gint quality;
    GstFormat fmt;
    guint64 processed, dropped;
    gst_message_parse_qos (msg, &live, &running_time, &stream_time, &timestamp,
        &duration);
    gst_message_parse_qos_values (msg, &jitter, &proportion, &quality);
    gst_message_parse_qos_stats (msg, &fmt, &processed, &dropped);
    g_string_append_printf (l,
        ",\"live\":%s,\"running_time\":%" G_GUINT64_FORMAT ",\"jitter\":%"
        G_GINT64_FORMAT ",\"proportion\":%.6g,\"format\":\"%s\",\"processed\":%"
        G_GUINT64_FORMAT ",\"dropped\":%" G_GUINT64_FORMAT, live ? "true" : "false",
        running_time, jitter, isfinite (proportion) ? proportion : -1.0,
        gst_format_get_name (fmt), processed, dropped);
  }
  g_string_append_c (l, '}');
  g_mutex_lock (&defs_lock);
  volatile_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

/* ---- set-up ---- */

static void
write_tracer_info (void)
{
  guint major, minor, micro, nano;
  GString *l = g_string_new ("{\"t\":\"tracer\"");
  gst_version (&major, &minor, &micro, &nano);
  g_string_append_printf (l, ",\"format\":%u,\"gst\":\"%u.%u.%u\",\"built_gst\":\"%d.%d\","
      "\"cpu_clock\":\"thread-cputime\",\"probes\":true,\"nvtx\":%s,\"pid\":%d,"
      "\"ring_slots\":%" G_GUINT64_FORMAT "}",
      PS_VERSION, major, minor, micro, GST_VERSION_MAJOR, GST_VERSION_MINOR,
#ifdef PS_HAVE_NVTX
      "true",
#else
      "false",
#endif
      (int) getpid (), ring_mode ? ring_mask + 1 : (guint64) 0);
  g_mutex_lock (&defs_lock);
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

static void
finish (void)
{
#ifdef PS_HAVE_NVTX
  static gboolean finished = FALSE;
  if (!finished) {
    finished = TRUE;
    clock_mark ("end");
  }
#endif
  /* at a clean exit, trim the file to what was written (never a ring: its reader may have it
   * mapped, and every slot may hold a record) */
  if (header && events_fd >= 0 && !ring_mode) {
    guint64 used = __atomic_load_n (&header->used, __ATOMIC_ACQUIRE);
    if (used > header->capacity)
      used = header->capacity;
    msync (header, map_size, MS_SYNC);
    if (ftruncate (events_fd, PS_HEADER_SIZE + used) != 0) {
      /* the reader copes with an untrimmed file */
    }
  }
  if (defs_file)
    fflush (defs_file);
  if (msgs_file)
    fflush (msgs_file);
}

/* Ring mode: remove the files of traced processes that ended (their events file is not
 * locked), all but the newest, so that a service that restarts again and again without a
 * reader attached does not fill the disk. A reader keeps what it has open. */
static void
remove_ended_rings (const gchar * dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *name;
  GPtrArray *ended;
  gint64 newest = -1;
  guint i, keep = G_MAXUINT;
  if (!d)
    return;
  ended = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL) {
    int pid, fd;
    struct stat st;
    gchar *path;
    if (sscanf (name, "events-%d.bin", &pid) != 1 || pid == (int) getpid ()
        || !g_str_has_suffix (name, ".bin"))
      continue;
    path = g_build_filename (dir, name, NULL);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) == 0 && fstat (fd, &st) == 0) {
      gint64 m = (gint64) st.st_mtime;
      g_ptr_array_add (ended, g_strdup_printf ("%d", pid));
      if (m > newest) {
        newest = m;
        keep = ended->len - 1;
      }
    }
    if (fd >= 0)
      close (fd);
    g_free (path);
  }
  g_dir_close (d);
  for (i = 0; i < ended->len; i++) {
    static const char *patterns[] = { "events-%s.bin", "defs-%s.jsonl", "msgs-%s.jsonl",
      "msgs-%s.1.jsonl"
    };
    guint k;
    if (i == keep)
      continue;
    for (k = 0; k < G_N_ELEMENTS (patterns); k++) {
      gchar *f = g_strdup_printf (patterns[k], (const gchar *) g_ptr_array_index (ended, i));
      gchar *path = g_build_filename (dir, f, NULL);
      unlink (path);
      g_free (path);
      g_free (f);
    }
  }
  g_ptr_array_free (ended, TRUE);
}

static gboolean
open_outputs (void)
{
  const gchar *dir = g_getenv ("PIPESIGHT_TRACE_DIR");
  const gchar *cap_s = g_getenv ("PIPESIGHT_TRACE_MAX_MB");
  const gchar *min_s = g_getenv ("PIPESIGHT_CPU_MIN_US");
  guint64 capacity_mb = cap_s ? g_ascii_strtoull (cap_s, NULL, 10) : 2048;
  gchar *path;
  void *map;

  if (!dir || !*dir)
    return FALSE;
  const gchar *ring_s = g_getenv ("PIPESIGHT_RING_MB");
  const gchar *msgs_s = g_getenv ("PIPESIGHT_MSGS_MAX_KB");
  guint64 ring_mb = ring_s ? g_ascii_strtoull (ring_s, NULL, 10) : 0;

  if (capacity_mb == 0)
    capacity_mb = 2048;
  if (min_s)
    min_reading_ns = g_ascii_strtoull (min_s, NULL, 10) * 1000ull;
  if (ring_mb > 0) {
    guint64 slots = ring_mb * 1024ull * 1024ull / sizeof (PsRecord);
    ring_mode = TRUE;
    /* a power of two: the slot is the record index masked, not divided, on every push */
    while (slots & (slots - 1))
      slots &= slots - 1;
    ring_mask = slots - 1;
    capacity_mb = 0;
    map_size = PS_HEADER_SIZE + slots * sizeof (PsRecord);
    if (msgs_s && g_ascii_strtoull (msgs_s, NULL, 10) >= 1)
      msgs_cap = g_ascii_strtoull (msgs_s, NULL, 10) * 1024ull;
    remove_ended_rings (dir);
  } else
    map_size = PS_HEADER_SIZE + capacity_mb * 1024ull * 1024ull;
  path = g_strdup_printf ("%s/defs-%d.jsonl", dir, (int) getpid ());
  defs_file = fopen (path, "w");
  g_free (path);
  if (!defs_file)
    return FALSE;
  if (ring_mode) {
    msgs_path = g_strdup_printf ("%s/msgs-%d.jsonl", dir, (int) getpid ());
    msgs_old_path = g_strdup_printf ("%s/msgs-%d.1.jsonl", dir, (int) getpid ());
    unlink (msgs_old_path);
    msgs_file = fopen (msgs_path, "w");
    if (!msgs_file)
      return FALSE;
  }
  path = g_strdup_printf ("%s/events-%d.bin", dir, (int) getpid ());
  /* a new file, not the old one truncated: a reader may still hold an ended process's ring of
   * the same pid open */
  if (ring_mode)
    unlink (path);
  events_fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_free (path);
  if (events_fd < 0)
    return FALSE;
  /* while this lock is held the process lives: readers take it to tell a finished ring */
  if (ring_mode && flock (events_fd, LOCK_SH) != 0)
    return FALSE;
  /* sparse: only the pages written take disk space */
  if (ftruncate (events_fd, map_size) != 0)
    return FALSE;
  map = mmap (NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, events_fd, 0);
  if (map == MAP_FAILED)
    return FALSE;
  header = (PsHeader *) map;
  records = (guint8 *) map + PS_HEADER_SIZE;
  header->magic = PS_MAGIC;
  header->version = PS_VERSION;
  header->record_size = sizeof (PsRecord);
  header->header_size = PS_HEADER_SIZE;
  header->used = 0;
  header->capacity = map_size - PS_HEADER_SIZE;
  header->pid = (guint32) getpid ();
  header->dropped = 0;
  header->flags = ring_mode ? PS_FLAG_RING : 0;
  atexit (finish);
  return TRUE;
}

static void
ps_tracer_finalize (GObject * obj)
{
  finish ();
  G_OBJECT_CLASS (ps_tracer_parent_class)->finalize (obj);
}

static void
ps_tracer_class_init (PsTracerClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = ps_tracer_finalize;
}

static void
ps_tracer_init (PsTracer * self)
{
  GstTracer *tracer = GST_TRACER (self);
  pad_quark = g_quark_from_static_string ("pipesight-pad-id");
  element_quark = g_quark_from_static_string ("pipesight-element-id");
  marker_quark = g_quark_from_static_string ("pipesight-probe-marker");
  orphan_quark = g_quark_from_static_string ("pipesight-orphan-pad");
  props_quark = g_quark_from_static_string ("pipesight-props-written");
  if (!open_outputs ()) {
    g_printerr ("pipesight tracer: PIPESIGHT_TRACE_DIR unset or not writable; "
        "recording nothing\n");
    return;
  }
  write_tracer_info ();
#ifdef PS_HAVE_NVTX
  nvtx_start ();
#endif
  gst_tracing_register_hook (tracer, "pad-push-pre", G_CALLBACK (on_push_pre));
  gst_tracing_register_hook (tracer, "pad-push-post", G_CALLBACK (on_push_post));
  gst_tracing_register_hook (tracer, "pad-push-list-pre", G_CALLBACK (on_list_pre));
  gst_tracing_register_hook (tracer, "pad-push-list-post", G_CALLBACK (on_list_post));
  gst_tracing_register_hook (tracer, "pad-pull-range-pre", G_CALLBACK (on_pull_pre));
  gst_tracing_register_hook (tracer, "pad-pull-range-post", G_CALLBACK (on_pull_post));
  gst_tracing_register_hook (tracer, "pad-link-post", G_CALLBACK (on_link_post));
  gst_tracing_register_hook (tracer, "pad-push-event-pre", G_CALLBACK (on_event_pre));
  gst_tracing_register_hook (tracer, "bin-add-post", G_CALLBACK (on_bin_add_post));
  gst_tracing_register_hook (tracer, "element-change-state-post",
      G_CALLBACK (on_state_post));
  gst_tracing_register_hook (tracer, "element-post-message-pre",
      G_CALLBACK (on_message_pre));
  if (ring_mode)
    gst_tracing_register_hook (tracer, "object-destroyed",
        G_CALLBACK (on_object_destroyed));
}

/* The oldest GStreamer this build may run on: the headers it was compiled against,
 * unless a prebuilt tracer says otherwise (build.py's prebuild compiles against the
 * oldest headers it supports and passes their minor version). Every hook above exists
 * from 1.16 on. On an older GStreamer, nothing is registered: the pipeline runs
 * untraced and stderr says why, rather than a hook firing with another signature. */
#ifndef PS_GST_MIN_MINOR
#define PS_GST_MIN_MINOR GST_VERSION_MINOR
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  guint major, minor, micro, nano;
  gst_version (&major, &minor, &micro, &nano);
  if (major != 1 || minor < PS_GST_MIN_MINOR) {
    g_printerr ("pipesight tracer: built for GStreamer 1.%d or newer, running %u.%u.%u: "
        "not registered\n", PS_GST_MIN_MINOR, major, minor, micro);
    return TRUE;
  }
  return gst_tracer_register (plugin, "pipesight", ps_tracer_get_type ());
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, pipesight,
    "pipesight: pad push entry/return timing with thread CPU clocks",
    plugin_init, "0.1", "LGPL", "pipesight", "https://example.invalid/pipesight")
