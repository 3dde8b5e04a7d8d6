/* pipesight tracer: records entry to and return from every pad push, push-list
 * and pull-range, with the OS thread id and the thread's CPU clock, so that
 * each element's own time on each streaming thread can be derived exactly.
 *
 * Two files per process in $PIPESIGHT_TRACE_DIR:
 *   events-PID.bin   fixed-size binary records in a MAP_SHARED file mapping:
 *                    what was written survives a crash of the traced process
 *                    (the pages belong to the file, not to the process)
 *   defs-PID.jsonl   rare records as JSON lines: pads, elements, properties,
 *                    threads, links, caps, state changes, bus messages
 *
 * The record layout is mirrored in pipesight/readers/pipesight_trace.py.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PS_MAGIC 0x31545350u /* "PST1" little endian */
#define PS_VERSION 2u
#define PS_HEADER_SIZE 64u

enum
{
  EV_PUSH_PRE = 1,
  EV_PUSH_POST = 2,
  EV_LIST_PRE = 3,
  EV_LIST_POST = 4,
  EV_PULL_PRE = 5,
  EV_PULL_POST = 6,
};

typedef struct
{
  guint8 kind;
  guint8 reserved;
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
} PsRecord;

G_STATIC_ASSERT (sizeof (PsRecord) == 56);

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

static void
announce_clock_locked (GstClockTime ts)
{
  GString *l;
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
  if (G_LIKELY (thread_announced))
    return;
  thread_announced = TRUE;
  prctl (PR_GET_NAME, name, 0, 0, 0);
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
  defs_write (l);
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

static guint32
pad_id (GstPad * pad)
{
  guint32 id, element = 0, parent_pad = 0;
  GstObject *parent;
  GString *l;

  if (!pad)
    return 0;
  id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (pad), pad_quark));
  if (G_LIKELY (id))
    return id;
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

/* ---- binary records ---- */

static inline void
emit (guint8 kind, GstClockTime ts, GstPad * pad, GstPad * peer, guint32 size,
    gint32 count, guint64 pts, guint16 flags)
{
  guint64 off;
  PsRecord *r;

  if (G_UNLIKELY (!header))
    return;
  if (G_UNLIKELY (!thread_announced))
    announce_thread (ts);
  off = __atomic_fetch_add (&header->used, sizeof (PsRecord), __ATOMIC_RELAXED);
  if (G_UNLIKELY (off + sizeof (PsRecord) > header->capacity)) {
    __atomic_fetch_add (&header->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  r = (PsRecord *) (records + off);
  r->cpu_ns = G_MAXUINT64;
  r->vcsw = r->ivcsw = 0;
  if (!have_reading || ts - last_reading >= min_reading_ns) {
    struct rusage ru;
    /* utime + stime of RUSAGE_THREAD add up to the scheduler's exact run time */
    if (getrusage (RUSAGE_THREAD, &ru) == 0) {
      r->cpu_ns = (guint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
          (guint64) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
      r->vcsw = (guint32) ru.ru_nvcsw;
      r->ivcsw = (guint32) ru.ru_nivcsw;
      last_reading = ts;
      have_reading = TRUE;
    }
  }
  r->buffer_flags = flags;
  r->reserved = 0;
  r->tid = current_tid ();
  r->ts = ts;
  r->pad = pad_id (pad);
  r->peer = peer ? pad_id (peer) : 0;
  r->size = size;
  r->count = count;
  r->pts = pts;
  /* the kind last: a record whose kind is still 0 was never completed */
  __atomic_store_n (&r->kind, kind, __ATOMIC_RELEASE);
}

static void
on_push_pre (GObject * self, GstClockTime ts, GstPad * pad, GstBuffer * buf)
{
  emit (EV_PUSH_PRE, ts, pad, GST_PAD_PEER (pad), (guint32) gst_buffer_get_size (buf),
      1, GST_BUFFER_PTS (buf), (guint16) GST_BUFFER_FLAGS (buf));
}

static void
on_push_post (GObject * self, GstClockTime ts, GstPad * pad, GstFlowReturn res)
{
  emit (EV_PUSH_POST, ts, pad, NULL, 0, (gint32) res, G_MAXUINT64, 0);
}

static void
on_list_pre (GObject * self, GstClockTime ts, GstPad * pad, GstBufferList * list)
{
  guint n = gst_buffer_list_length (list), i;
  guint64 bytes = 0;
  GstBuffer *first = n ? gst_buffer_list_get (list, 0) : NULL;
  for (i = 0; i < n; i++)
    bytes += gst_buffer_get_size (gst_buffer_list_get (list, i));
  emit (EV_LIST_PRE, ts, pad, GST_PAD_PEER (pad), (guint32) MIN (bytes, G_MAXUINT32),
      (gint32) n, first ? GST_BUFFER_PTS (first) : G_MAXUINT64,
      first ? (guint16) GST_BUFFER_FLAGS (first) : 0);
}

static void
on_list_post (GObject * self, GstClockTime ts, GstPad * pad, GstFlowReturn res)
{
  emit (EV_LIST_POST, ts, pad, NULL, 0, (gint32) res, G_MAXUINT64, 0);
}

static void
on_pull_pre (GObject * self, GstClockTime ts, GstPad * pad, guint64 offset,
    guint size)
{
  emit (EV_PULL_PRE, ts, pad, GST_PAD_PEER (pad), size, 0, G_MAXUINT64, 0);
}

static void
on_pull_post (GObject * self, GstClockTime ts, GstPad * pad, GstBuffer * buf,
    GstFlowReturn res)
{
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
  defs_write (l);
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
  defs_write (l);
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
  defs_write (l);
  g_mutex_unlock (&defs_lock);
  g_string_free (l, TRUE);
}

/* ---- set-up ---- */

static void
finish (void)
{
  /* at a clean exit, trim the file to what was written */
  if (header && events_fd >= 0) {
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
  if (capacity_mb == 0)
    capacity_mb = 2048;
  if (min_s)
    min_reading_ns = g_ascii_strtoull (min_s, NULL, 10) * 1000ull;
  path = g_strdup_printf ("%s/defs-%d.jsonl", dir, (int) getpid ());
  defs_file = fopen (path, "w");
  g_free (path);
  if (!defs_file)
    return FALSE;
  path = g_strdup_printf ("%s/events-%d.bin", dir, (int) getpid ());
  events_fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_free (path);
  if (events_fd < 0)
    return FALSE;
  map_size = PS_HEADER_SIZE + capacity_mb * 1024ull * 1024ull;
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
  if (!open_outputs ()) {
    g_printerr ("pipesight tracer: PIPESIGHT_TRACE_DIR unset or not writable; "
        "recording nothing\n");
    return;
  }
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
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  return gst_tracer_register (plugin, "pipesight", ps_tracer_get_type ());
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, pipesight,
    "pipesight: pad push entry/return timing with thread CPU clocks",
    plugin_init, "0.1", "LGPL", "pipesight", "https://example.invalid/pipesight")
