#include "cluster/split_audit.h"

#include <nats/nats.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>

#include "cluster/mirror.h"
#include "engine/commitment.h"
#include "engine/machine.h"
#include "engine/state.h"
#include "replay/audit.h"
#include "replay/replay.h"
#include "schemas/bytes.h"
#include "schemas/event_types.h"

namespace liql::cluster {
namespace {

using Json = nlohmann::ordered_json;
constexpr char kConsumer[] = "workers";
// A work item is delivered at most this often: a segment that kills every
// worker that takes it (memory, a crash) is given up, not looped on forever;
// audit-join then names it as without a result.
constexpr int64_t kMaxDeliver = 5;

std::string results_prefix(const StreamNames& names, const std::string& plan, uint32_t segment) {
  return fmt::format("{}.{}.{}", names.results, plan, segment);
}
std::string plan_prefix(const StreamNames& names) { return names.results + ".plan"; }

bool parse_hash(const std::string& hex, Hash* hash) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    unsigned value = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &value) != 1) return false;
    (*hash)[i] = static_cast<uint8_t>(value);
  }
  return to_hex(*hash) == hex;
}

Int parse_int(const Json& value) {
  std::optional<Int> parsed = parse_units(value.get<std::string>(), 0);
  if (!parsed) throw std::runtime_error("not an integer: " + value.dump());
  return *parsed;
}

// ---- the partial audit summary of a segment, and their sum ------------------

Json split_json(const PenaltySplit& split) {
  return Json::array({split.total.str(), split.liquidator.str(), split.insurance.str(), split.treasury.str()});
}
void add_split_json(PenaltySplit& total, const Json& part) {
  total.total += parse_int(part.at(0));
  total.liquidator += parse_int(part.at(1));
  total.insurance += parse_int(part.at(2));
  total.treasury += parse_int(part.at(3));
}

Json summary_json(const AuditSummary& s) {
  Json bonuses = Json::object();
  for (const auto& [asset, split] : s.token_bonuses) bonuses[std::to_string(asset)] = split_json(split);
  return Json{{"liquidations", s.liquidations},
              {"by_verdict", s.by_verdict},
              {"perp", s.perp},
              {"token", s.token},
              {"absorbs", s.absorbs},
              {"closed_notional", s.closed_notional.str()},
              {"perp_penalties", split_json(s.perp_penalties)},
              {"token_bonuses", bonuses},
              {"bankruptcies", s.bankruptcies},
              {"bankrupt_covered_value", s.bankrupt_covered_value.str()},
              {"bankrupt_bad_debt_value", s.bankrupt_bad_debt_value.str()},
              {"reasons", s.reasons},
              {"flags", s.flags}};
}

void add_summary_json(AuditSummary& total, const Json& part) {
  total.liquidations += part.at("liquidations").get<uint64_t>();
  const auto by_verdict = part.at("by_verdict").get<std::vector<uint64_t>>();
  if (by_verdict.size() != total.by_verdict.size()) throw std::runtime_error("by_verdict: wrong length");
  for (size_t i = 0; i < by_verdict.size(); ++i) total.by_verdict[i] += by_verdict[i];
  total.perp += part.at("perp").get<uint64_t>();
  total.token += part.at("token").get<uint64_t>();
  total.absorbs += part.at("absorbs").get<uint64_t>();
  total.closed_notional += parse_int(part.at("closed_notional"));
  add_split_json(total.perp_penalties, part.at("perp_penalties"));
  for (const auto& [asset, split] : part.at("token_bonuses").items()) {
    add_split_json(total.token_bonuses[static_cast<AssetId>(std::stoul(asset))], split);
  }
  total.bankruptcies += part.at("bankruptcies").get<uint64_t>();
  total.bankrupt_covered_value += parse_int(part.at("bankrupt_covered_value"));
  total.bankrupt_bad_debt_value += parse_int(part.at("bankrupt_bad_debt_value"));
  for (const auto& [name, count] : part.at("reasons").items()) total.reasons[name] += count.get<uint64_t>();
  for (const auto& [name, count] : part.at("flags").items()) total.flags[name] += count.get<uint64_t>();
}

// ---- a segment's result -------------------------------------------------------
// u32 BE header length ‖ header JSON ‖ u64 BE length ‖ JSON Lines ‖ u64 BE
// length ‖ CSV lines ‖ the final state (snapshot encoding; last segment only).

struct SegmentResult {
  Json header;
  std::string jsonl, csv, final_state;
};

std::string encode_result(const SegmentResult& result) {
  const std::string header = result.header.dump();
  std::string out;
  append_be(out, header.size(), 4);
  out += header;
  append_be(out, result.jsonl.size(), 8);
  out += result.jsonl;
  append_be(out, result.csv.size(), 8);
  out += result.csv;
  out += result.final_state;
  return out;
}

bool take(std::string_view* in, size_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

Status decode_result(std::string_view blob, SegmentResult* result, const std::string& where) {
  std::string_view field, in = blob;
  const Status bad = Status::corruption(where + ": the result does not decode");
  if (!take(&in, 4, &field) || !take(&in, load_be32(field), &field)) return bad;
  try {
    result->header = Json::parse(field);
  } catch (const std::exception& e) {
    return Status::corruption(where + ": result header: " + e.what());
  }
  if (!take(&in, 8, &field) || !take(&in, load_be64(field), &field)) return bad;
  result->jsonl = field;
  if (!take(&in, 8, &field) || !take(&in, load_be64(field), &field)) return bad;
  result->csv = field;
  result->final_state = in;
  return Status::ok();
}

Json segment_json(const std::string& plan, const Segment& segment) {
  return Json{{"plan", plan}, {"segment", segment.index}, {"from", segment.from}, {"to", segment.to}};
}

// The machine at the segment's start: from genesis, or from the snapshot
// at from − 1 (its hash checked as the ledger checks one).
Status load_start(JetStream& js, const StreamNames& names, const Segment& segment, Machine* machine,
                  Commitment* hasher, ReplayCounts* start_counts, Hash* start_hash) {
  if (segment.from <= 1) return Status::ok();
  Hash stored{};
  std::string payload;
  if (Status s = read_snapshot(js, names, segment.from - 1, &stored, &payload); !s.is_ok()) return s;
  State state;
  if (Status s = decode_snapshot_payload(segment.from - 1, payload, stored, &state, start_counts, hasher);
      !s.is_ok()) {
    return s;
  }
  *start_hash = stored;
  *machine = Machine(std::move(state));
  return Status::ok();
}

// What a worker writes of one liquidation event: its text when the plan
// wants it (the state hash only then, as `audit DB --format summary`
// computes none), its verdict in the summary, its seq.
void add_audit(const LogRecord& record, const Outcome& outcome, const Machine& machine, Commitment& hasher,
               const Plan& plan, SegmentResult* result, AuditSummary* summary, std::vector<uint64_t>* audit_seqs) {
  const bool want_jsonl = plan.has_format("jsonl"), want_csv = plan.has_format("csv");
  const AuditRecord audit{record.seq, record.event->ts(), *outcome.audit,
                          want_jsonl || want_csv ? hasher.hash(machine.state()) : Hash{}};
  if (want_jsonl) {
    result->jsonl += audit_json(audit);
    result->jsonl += '\n';
  }
  if (want_csv) {
    result->csv += audit_csv(audit);
    result->csv += '\n';
  }
  summary->add(*outcome.audit);
  audit_seqs->push_back(record.seq);
}

// Still at work: the segment stays this worker's past the ack wait, and a
// progress line every `progress` seqs.
void keep_alive(natsMsg* work, int64_t ack_wait_ms, const Segment& segment, uint64_t seq, uint64_t progress,
                std::chrono::steady_clock::time_point* last_beat) {
  if (seq % 4096 == 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now - *last_beat > std::chrono::milliseconds(ack_wait_ms / 3)) {
      natsMsg_InProgress(work, nullptr);
      *last_beat = now;
    }
  }
  if (progress != 0 && seq % progress == 0) {
    std::fprintf(stderr, "audit-worker: segment %u at seq %llu (%llu..%llu)\n", segment.index,
                 static_cast<unsigned long long>(seq), static_cast<unsigned long long>(segment.from),
                 static_cast<unsigned long long>(segment.to));
  }
}

// Audits one segment. A data failure (a record or the snapshot that fails its
// checks) becomes a result with "ok": false naming the seq; only an I/O or
// connection failure is returned.
Status audit_segment(JetStream& js, const StreamNames& names, const std::string& plan_id, const Segment& segment,
                     const Plan& plan, natsMsg* work, int64_t ack_wait_ms, uint64_t stall_at, uint64_t progress,
                     SegmentResult* result) {
  result->header = segment_json(plan_id, segment);
  auto failure = [&](const Status& s) {
    if (s.code() == Status::Code::IOError) return s;
    result->header["ok"] = false;
    result->header["error"] = s.message();
    return Status::ok();
  };
  Machine machine;
  Commitment hasher;  // built by the start snapshot's check, then kept up to date
  ReplayCounts start_counts;
  Hash start_hash{};
  if (Status s = load_start(js, names, segment, &machine, &hasher, &start_counts, &start_hash); !s.is_ok()) {
    return failure(s);
  }
  // On this thread, no read-ahead: a worker is one core's work, and the
  // parallelism is the workers' (one per core; docs/SCALE.md).
  StreamReader reader(js, names, segment.from, segment.to);
  const Hash start_chain = reader.start_chain();
  ReplayCounts counts;
  AuditSummary summary;
  std::vector<uint64_t> audit_seqs;
  LogRecord record;
  Hash end_chain = start_chain;
  auto last_beat = std::chrono::steady_clock::now();
  while (reader.next(&record)) {
    if (record.seq == stall_at) {
      // Stopped until a SIGCONT (or killed): the tests kill the worker or the server here.
      std::fprintf(stderr, "audit-worker: stalled at seq %llu (--test-stall-at)\n", static_cast<unsigned long long>(stall_at));
      std::raise(SIGSTOP);
    }
    Outcome outcome;
    if (Status s = machine.apply(*record.event, record.seq, &outcome); !s.is_ok()) return failure(s);
    (outcome.applied() ? counts.applied : counts.rejected) += 1;
    hasher.touch(outcome.touched);
    if (outcome.audit) add_audit(record, outcome, machine, hasher, plan, result, &summary, &audit_seqs);
    end_chain = record.chain;
    keep_alive(work, ack_wait_ms, segment, record.seq, progress, &last_beat);
  }
  if (!reader.status().is_ok()) return failure(reader.status());
  if (machine.state().seq != segment.to) {
    return failure(Status::corruption(fmt::format("record seq {} missing (the segment ends at {})",
                                                  machine.state().seq + 1, segment.to)));
  }
  Json& h = result->header;
  h["ok"] = true;
  h["start_chain"] = to_hex(start_chain);
  h["end_chain"] = to_hex(end_chain);
  h["start_hash"] = segment.from > 1 ? to_hex(start_hash) : "";
  h["end_hash"] = to_hex(hasher.hash(machine.state()));
  h["start_applied"] = start_counts.applied;
  h["start_rejected"] = start_counts.rejected;
  h["applied"] = counts.applied;
  h["rejected"] = counts.rejected;
  h["audit_seqs"] = audit_seqs;
  h["summary"] = summary_json(summary);
  if (segment.to == plan.head_seq) result->final_state = encode_state(machine.state());
  return Status::ok();
}

size_t count_lines(std::string_view text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

Status make_plan(JetStream& js, const StreamNames& names, uint64_t segment_events, int64_t ack_wait_ms,
                 const std::vector<std::string>& formats, Plan* plan) {
  *plan = Plan{};
  for (const std::string& format : formats) {
    if (format != "jsonl" && format != "csv" && format != "summary") {
      return Status::invalid_argument("--formats: '" + format + "' is not jsonl, csv or summary");
    }
  }
  plan->formats = formats;
  Head head;
  if (Status s = stream_head(js, names, &head); !s.is_ok()) return s;
  if (head.seq == 0) return Status::invalid_argument("stream " + names.records + " holds no records: publish first");
  std::vector<uint64_t> snapshots;
  if (Status s = snapshot_index(js, names, &snapshots); !s.is_ok()) return s;
  uint64_t from = 1;
  for (uint64_t seq : snapshots) {
    if (seq >= head.seq || seq < from) continue;
    if (seq - from + 1 >= segment_events) {
      plan->segments.push_back(Segment{static_cast<uint32_t>(plan->segments.size()), from, seq});
      from = seq + 1;
    }
  }
  plan->segments.push_back(Segment{static_cast<uint32_t>(plan->segments.size()), from, head.seq});
  plan->head_seq = head.seq;
  plan->head_chain = head.chain;
  plan->id = fmt::format("{:x}", std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch()).count());

  if (Status s = js.delete_stream(names.work); !s.is_ok()) return s;
  if (Status s = js.delete_stream(names.results); !s.is_ok()) return s;
  if (Status s = js.ensure_stream(names.work, {names.work_subject()}, true); !s.is_ok()) return s;
  if (Status s = js.ensure_stream(names.results, {names.results + ".>"}, false); !s.is_ok()) return s;
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.Durable = kConsumer;
  config.AckPolicy = js_AckExplicit;
  config.AckWait = ack_wait_ms * 1'000'000;  // ns
  config.MaxDeliver = -1;
  config.MaxAckPending = 10'000;
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus ns = js_AddConsumer(&info, js.context(), names.work.c_str(), &config, nullptr, &jerr);
  if (ns != NATS_OK) {
    return Status::io_error(fmt::format("creating the work queue's consumer on {}: {} (JetStream error {})", js.url(),
                                        natsStatus_GetText(ns), static_cast<int>(jerr)));
  }
  jsConsumerInfo_Destroy(info);

  Json segments = Json::array();
  for (const Segment& segment : plan->segments) segments.push_back(Json::array({segment.from, segment.to}));
  const Json plan_json{{"plan", plan->id},
                       {"head_seq", plan->head_seq},
                       {"head_chain", to_hex(plan->head_chain)},
                       {"ack_wait_ms", ack_wait_ms},
                       {"formats", plan->formats},
                       {"segments", segments}};
  if (Status s = js.put_blob(names.results, plan_prefix(names), plan_json.dump()); !s.is_ok()) return s;
  for (const Segment& segment : plan->segments) {
    const std::string item = segment_json(plan->id, segment).dump();
    if (Status s = js.publish_async(names.work_subject(), item, plan->id + "." + std::to_string(segment.index)); !s.is_ok()) {
      return s;
    }
  }
  return js.publish_complete();
}

Status read_plan(JetStream& js, const StreamNames& names, Plan* plan, int64_t* ack_wait_ms) {
  std::string text;
  Status s = js.read_blob(names.results, plan_prefix(names), &text);
  if (s.code() == Status::Code::NotFound) return Status::not_found("no audit plan for stream " + names.records + ": run audit-plan first");
  if (!s.is_ok()) return s;
  try {
    const Json json = Json::parse(text);
    plan->id = json.at("plan").get<std::string>();
    plan->head_seq = json.at("head_seq").get<uint64_t>();
    if (!parse_hash(json.at("head_chain").get<std::string>(), &plan->head_chain)) throw std::runtime_error("head_chain");
    if (ack_wait_ms != nullptr) *ack_wait_ms = json.at("ack_wait_ms").get<int64_t>();
    plan->formats = json.at("formats").get<std::vector<std::string>>();
    plan->segments.clear();
    for (const Json& segment : json.at("segments")) {
      plan->segments.push_back(Segment{static_cast<uint32_t>(plan->segments.size()), segment.at(0).get<uint64_t>(),
                                       segment.at(1).get<uint64_t>()});
    }
  } catch (const std::exception& e) {
    return Status::corruption("the audit plan does not decode: " + std::string(e.what()));
  }
  return Status::ok();
}

Status read_plan(JetStream& js, const StreamNames& names, Plan* plan) { return read_plan(js, names, plan, nullptr); }

namespace {

Status subscribe_work(JetStream& js, const StreamNames& names, natsSubscription** sub) {
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = names.work.c_str();
  sub_options.Consumer = kConsumer;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus ns =
      js_PullSubscribe(sub, js.context(), names.work_subject().c_str(), kConsumer, nullptr, &sub_options, &jerr);
  if (ns == NATS_OK) return Status::ok();
  if (jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr || ns == NATS_NOT_FOUND) {
    return Status::not_found(fmt::format("no audit work queue for stream {} on {}: run audit-plan first", names.records, js.url()));
  }
  return Status::io_error(fmt::format("subscribing to the work queue on {}: {}", js.url(), natsStatus_GetText(ns)));
}

// Done when nothing is queued and no other worker holds a segment (a held
// segment comes back to the queue if its worker dies).
Status queue_drained(JetStream& js, const StreamNames& names, bool* done) {
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus ns = js_GetConsumerInfo(&info, js.context(), names.work.c_str(), kConsumer, nullptr, &jerr);
  if (ns != NATS_OK) return Status::io_error(fmt::format("the work queue on {}: {}", js.url(), natsStatus_GetText(ns)));
  *done = info->NumPending == 0 && info->NumAckPending == 0;
  jsConsumerInfo_Destroy(info);
  return Status::ok();
}

// One work item: decoded (one that does not decode is dropped), audited under
// its plan (read when it changes; an item of an earlier plan is acked and
// skipped), its result stored, then acked.
Status take_segment(JetStream& js, const StreamNames& names, const WorkerOptions& options, natsMsg* work,
                    Plan* plan, int64_t* ack_wait_ms, WorkerReport* report) {
  Segment segment;
  std::string item_plan;
  try {
    const Json item = Json::parse(std::string_view(natsMsg_GetData(work), natsMsg_GetDataLength(work)));
    item_plan = item.at("plan").get<std::string>();
    segment = Segment{item.at("segment").get<uint32_t>(), item.at("from").get<uint64_t>(), item.at("to").get<uint64_t>()};
  } catch (const std::exception& e) {
    natsMsg_Term(work, nullptr);
    std::fprintf(stderr, "audit-worker: a work item that does not decode, dropped: %s\n", e.what());
    return Status::ok();
  }
  if (item_plan != plan->id) {
    if (Status s = read_plan(js, names, plan, ack_wait_ms); !s.is_ok()) return s;
  }
  if (item_plan != plan->id) {  // left over from an earlier plan
    natsMsg_AckSync(work, nullptr, nullptr);
    return Status::ok();
  }
  std::fprintf(stderr, "audit-worker: segment %u (seq %llu..%llu) taken\n", segment.index,
               static_cast<unsigned long long>(segment.from), static_cast<unsigned long long>(segment.to));
  SegmentResult segment_result;
  if (Status s = audit_segment(js, names, plan->id, segment, *plan, work, *ack_wait_ms, options.stall_at,
                               options.progress, &segment_result);
      !s.is_ok()) {
    return s;
  }
  if (Status s = js.put_blob(names.results, results_prefix(names, plan->id, segment.index), encode_result(segment_result));
      !s.is_ok()) {
    return s;
  }
  // Acked only once the result is stored: a worker that dies before this
  // line leaves the segment to be redelivered after the ack wait.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus ns = natsMsg_AckSync(work, nullptr, &jerr); ns != NATS_OK) {
    std::fprintf(stderr, "audit-worker: segment %u: the ack failed (%s); it will be redelivered\n", segment.index,
                 natsStatus_GetText(ns));
  }
  ++report->segments;
  report->events += segment.to - segment.from + 1;
  std::fprintf(stderr, "audit-worker: segment %u done%s\n", segment.index,
               segment_result.header.value("ok", false) ? "" : " (it failed its checks: see audit-join)");
  return Status::ok();
}

}  // namespace

Status run_worker(JetStream& js, const StreamNames& names, const WorkerOptions& options, WorkerReport* report) {
  *report = WorkerReport{};
  natsSubscription* sub = nullptr;
  if (Status s = subscribe_work(js, names, &sub); !s.is_ok()) return s;
  Plan plan;
  int64_t ack_wait_ms = 30'000;
  Status result = Status::ok();
  while (result.is_ok() && (options.max_segments == 0 || report->segments < options.max_segments)) {
    natsMsgList list{};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus ns = natsSubscription_Fetch(&list, sub, 1, 250, &jerr);
    if (ns == NATS_TIMEOUT) {
      bool done = false;
      result = queue_drained(js, names, &done);
      if (done) break;
      continue;
    }
    if (ns != NATS_OK) {
      result = Status::io_error(fmt::format("fetching from the work queue on {}: {}", js.url(), natsStatus_GetText(ns)));
      break;
    }
    for (int i = 0; i < list.Count && result.is_ok(); ++i) {
      result = take_segment(js, names, options, list.Msgs[i], &plan, &ack_wait_ms, report);
    }
    natsMsgList_Destroy(&list);
  }
  natsSubscription_Destroy(sub);
  return result;
}

namespace {

// What the segments joined so far end at.
struct Joined {
  Hash chain{};  // chain(seq) of the last seq joined
  Hash state{};  // the state hash there
  ReplayCounts counts;
  AuditSummary summary;
};

// The result is this segment's, its checks passed, it starts where the
// segments before it ended (chain, snapshot state hash, event counts).
// "" when all hold, else what does not; *end_* are the result's end hashes.
std::string check_start(const Json& h, const Plan& plan, const Segment& segment, const std::string& where,
                        const Joined& joined, Hash* end_chain, Hash* end_hash) {
  if (h.at("plan") != plan.id || h.at("segment") != segment.index || h.at("from") != segment.from ||
      h.at("to") != segment.to) {
    return where + ": the result is that of another segment (" +
           segment_json(h.at("plan"), Segment{h.at("segment"), h.at("from"), h.at("to")}).dump() + ")";
  }
  if (!h.at("ok").get<bool>()) return where + ": " + h.at("error").get<std::string>();
  Hash start_chain{}, start_hash{};
  if (!parse_hash(h.at("start_chain"), &start_chain) || !parse_hash(h.at("end_chain"), end_chain) ||
      !parse_hash(h.at("end_hash"), end_hash) || (segment.from > 1 && !parse_hash(h.at("start_hash"), &start_hash))) {
    return where + ": a hash in the result does not decode";
  }
  if (start_chain != joined.chain) {
    return fmt::format("{}: does not join the previous segment at seq {}: chain({}) is {} here, {} there", where,
                       segment.from, segment.from - 1, to_hex(start_chain), to_hex(joined.chain));
  }
  if (segment.from > 1 && start_hash != joined.state) {
    return fmt::format("{}: its start snapshot at seq {} has state hash {}, the previous segment ended at {}", where,
                       segment.from - 1, to_hex(start_hash), to_hex(joined.state));
  }
  if (h.at("start_applied").get<uint64_t>() != joined.counts.applied ||
      h.at("start_rejected").get<uint64_t>() != joined.counts.rejected) {
    return fmt::format("{}: its start snapshot at seq {} counts {} applied and {} rejected events, the segments before {} and {}",
                       where, segment.from - 1, h.at("start_applied").get<uint64_t>(),
                       h.at("start_rejected").get<uint64_t>(), joined.counts.applied, joined.counts.rejected);
  }
  return "";
}

// Its audit records: ascending seqs inside the segment, one text line each,
// and an event count equal to the segment's length.
std::string check_records(const Json& h, const Plan& plan, const Segment& segment, const std::string& where,
                          const SegmentResult& result) {
  uint64_t previous = segment.from - 1;
  const auto seqs = h.at("audit_seqs").get<std::vector<uint64_t>>();
  for (uint64_t seq : seqs) {
    if (seq <= previous || seq > segment.to) {
      return fmt::format("{}: audit record seq {} {}", where, seq,
                         seq == previous ? "duplicated" : seq > segment.to ? "outside the segment" : "out of order");
    }
    previous = seq;
  }
  if ((plan.has_format("jsonl") && count_lines(result.jsonl) != seqs.size()) ||
      (plan.has_format("csv") && count_lines(result.csv) != seqs.size())) {
    return fmt::format("{}: {} audit records but {} JSON and {} CSV lines", where, seqs.size(),
                       count_lines(result.jsonl), count_lines(result.csv));
  }
  const uint64_t applied = h.at("applied").get<uint64_t>(), rejected = h.at("rejected").get<uint64_t>();
  if (applied + rejected != segment.to - segment.from + 1) {
    return fmt::format("{}: {} events counted for {} seqs", where, applied + rejected, segment.to - segment.from + 1);
  }
  return "";
}

// Joins one segment's result to *joined: "" when it joins, else what does not hold.
std::string join_segment(const Plan& plan, const Segment& segment, const std::string& where,
                         const SegmentResult& result, Joined* joined) {
  try {
    const Json& h = result.header;
    Hash end_chain{}, end_hash{};
    if (std::string problem = check_start(h, plan, segment, where, *joined, &end_chain, &end_hash); !problem.empty()) {
      return problem;
    }
    if (std::string problem = check_records(h, plan, segment, where, result); !problem.empty()) return problem;
    joined->counts.applied += h.at("applied").get<uint64_t>();
    joined->counts.rejected += h.at("rejected").get<uint64_t>();
    add_summary_json(joined->summary, h.at("summary"));
    joined->chain = end_chain;
    joined->state = end_hash;
    return "";
  } catch (const std::exception& e) {
    return where + ": the result header does not decode: " + e.what();
  }
}

// The summary's text, from the counts, the verdicts and the final state (which
// must hash to the last segment's end hash).
std::string summary_text(const Plan& plan, const std::string& final_state, const Joined& joined, std::string* problem) {
  Result<State> final = decode_state(final_state);
  if (!final.is_ok()) {
    *problem = fmt::format("the final state (seq {}) does not decode: {}", plan.head_seq, final.status().message());
    return "";
  }
  if (state_hash(final.value()) != joined.state) {
    *problem = fmt::format("the final state (seq {}) does not hash to the last segment's end hash", plan.head_seq);
    return "";
  }
  std::string text = fmt::format("events               {} ({} applied, {} rejected)\n",
                                 joined.counts.applied + joined.counts.rejected, joined.counts.applied,
                                 joined.counts.rejected);
  text += fmt::format("accounts             {}\n", final.value().accounts.size());
  text += joined.summary.to_text(final.value(), joined.state);
  return text;
}

// A segment's result from the stream. *found false (and OK) when it has
// none yet; *problem set when it does not decode.
Status read_result(JetStream& js, const StreamNames& names, const Plan& plan, const Segment& segment,
                   const std::string& where, SegmentResult* result, bool* found, std::string* problem) {
  std::string blob;
  Status s = js.read_blob(names.results, results_prefix(names, plan.id, segment.index), &blob);
  *found = s.code() != Status::Code::NotFound;
  if (!*found) return Status::ok();
  if (s.code() == Status::Code::Corruption) {
    *problem = where + ": " + s.message();
    return Status::ok();
  }
  if (!s.is_ok()) return s;
  if (Status d = decode_result(blob, result, where); !d.is_ok()) *problem = d.message();
  return Status::ok();
}

std::string where_of(const Segment& segment) {
  return fmt::format("segment {} (seq {}..{})", segment.index, segment.from, segment.to);
}

const std::string& text_of(const SegmentResult& result, const std::string& format) {
  return format == "csv" ? result.csv : result.jsonl;
}

// What the first pass keeps: the joined counts and hashes, each segment's
// text digest, the final state (for the summary).
struct FirstPass {
  Joined joined;
  std::vector<Hash> texts;
  std::string final_state;
};

// The first pass: every result read and joined; *problem names the first
// that is missing or does not join.
Status check_all(JetStream& js, const StreamNames& names, const Plan& plan, const std::string& format,
                 FirstPass* first, std::string* problem) {
  size_t missing = 0;
  std::string first_missing;
  for (const Segment& segment : plan.segments) {
    const std::string where = where_of(segment);
    SegmentResult result;
    bool found = false;
    if (Status s = read_result(js, names, plan, segment, where, &result, &found, problem); !s.is_ok() || !problem->empty()) {
      return s;
    }
    if (!found && missing++ == 0) first_missing = where;
    if (!found || missing != 0) continue;  // reported below; no output either way
    if (*problem = join_segment(plan, segment, where, result, &first->joined); !problem->empty()) return Status::ok();
    first->texts.push_back(sha256(text_of(result, format)));
    if (segment.to == plan.head_seq) first->final_state = std::move(result.final_state);
  }
  if (missing != 0) {
    *problem = fmt::format("{} of {} segments have no result yet, the first {}: run audit-worker (a segment "
                           "delivered {} times without a result, its workers dying, is given up: audit-plan again)",
                           missing, plan.segments.size(), first_missing, kMaxDeliver);
  } else if (first->joined.chain != plan.head_chain) {
    *problem = fmt::format("the last segment ends at chain {}, the plan's head (seq {}) is {}",
                           to_hex(first->joined.chain), plan.head_seq, to_hex(plan.head_chain));
  }
  return Status::ok();
}

// The second pass: each segment's text, as the first pass checked it.
Status write_all(JetStream& js, const StreamNames& names, const Plan& plan, const std::string& format,
                 const std::vector<Hash>& texts, const JoinWriter& write, std::string* problem) {
  if (format == "csv" && !write(audit_csv_header() + "\n")) {
    *problem = "cannot write the CSV header";
    return Status::ok();
  }
  for (size_t i = 0; i < plan.segments.size(); ++i) {
    const std::string where = where_of(plan.segments[i]);
    SegmentResult result;
    bool found = false;
    if (Status s = read_result(js, names, plan, plan.segments[i], where, &result, &found, problem); !s.is_ok() || !problem->empty()) {
      return s;
    }
    const std::string& text = text_of(result, format);
    if (!found || sha256(text) != texts[i]) {
      *problem = where + ": its result changed while the join was reading (the output is incomplete)";
      return Status::ok();
    }
    if (!write(text)) {
      *problem = where + ": cannot write its records (the output is incomplete)";
      return Status::ok();
    }
  }
  return Status::ok();
}

}  // namespace

Status join_audit(JetStream& js, const StreamNames& names, const std::string& format, const JoinWriter& write,
                  size_t* segments, std::string* problem) {
  *segments = 0;
  problem->clear();
  Plan plan;
  if (Status s = read_plan(js, names, &plan); !s.is_ok()) return s;
  if (!plan.has_format(format)) {
    std::string made;
    for (const std::string& f : plan.formats) made += (made.empty() ? "" : ",") + f;
    return Status::invalid_argument(fmt::format("--format {}: the plan's workers made {} only (audit-plan --formats)", format, made));
  }
  FirstPass first;
  if (Status s = check_all(js, names, plan, format, &first, problem); !s.is_ok() || !problem->empty()) return s;
  if (format == "summary") {
    const std::string text = summary_text(plan, first.final_state, first.joined, problem);
    if (problem->empty() && !write(text)) *problem = "cannot write the summary";
  } else if (Status s = write_all(js, names, plan, format, first.texts, write, problem); !s.is_ok()) {
    return s;
  }
  if (problem->empty()) *segments = plan.segments.size();
  return Status::ok();
}

}  // namespace liql::cluster
