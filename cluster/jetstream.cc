#include "cluster/jetstream.h"

#include <nats/nats.h>

#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

#include "schemas/bytes.h"
#include "schemas/sha256.h"

namespace liql::cluster {
namespace {

// The first failure of an asynchronous publish, reported by the library's
// callback thread, collected by publish_complete.
struct AsyncErrors {
  std::mutex mutex;
  std::string first;
  uint64_t count = 0;
};

void on_async_error(jsCtx*, jsPubAckErr* pae, void* closure) {
  auto* errors = static_cast<AsyncErrors*>(closure);
  std::lock_guard lock(errors->mutex);
  if (errors->count++ == 0) {
    errors->first = fmt::format("publish to {} failed: {}{}", natsMsg_GetSubject(pae->Msg), natsStatus_GetText(pae->Err),
                                pae->ErrText ? std::string(" (") + pae->ErrText + ")" : "");
  }
}

// One per process: the error handler's state outlives every context.
AsyncErrors& async_errors() {
  static AsyncErrors errors;
  return errors;
}

std::string msg_data(natsMsg* msg) {
  return std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
}

}  // namespace

StreamNames StreamNames::of(const std::string& name) {
  return StreamNames{name, name + "_SNAP", name + "_WORK", name + "_RESULTS"};
}

Status check_stream_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return Status::invalid_argument("--stream: a name of 1 to 200 characters");
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return Status::invalid_argument(fmt::format("--stream '{}': only letters, digits, '-' and '_' (NATS stream names)", name));
    }
  }
  return Status::ok();
}

Status JetStream::check(int status, const std::string& what, int js_error) const {
  if (status == NATS_OK) return Status::ok();
  if (js_error == JSStreamNotFoundErr) return Status::not_found(fmt::format("{}: the stream does not exist on {}", what, url_));
  if (js_error == JSNoMessageFoundErr || status == NATS_NOT_FOUND) return Status::not_found(what + ": no such message");
  const char* last = nats_GetLastError(nullptr);
  std::string detail = natsStatus_GetText(static_cast<natsStatus>(status));
  if (js_error != 0) detail += fmt::format(" (JetStream error {})", js_error);
  if (last != nullptr && *last != '\0' && detail.find(last) == std::string::npos) detail += std::string(": ") + last;
  return Status::io_error(fmt::format("{} (NATS server {}): {}", what, url_, detail));
}

Status JetStream::connect(const std::string& url, std::unique_ptr<JetStream>* out, int64_t wait_ms) {
  std::unique_ptr<JetStream> self(new JetStream());
  self->url_ = url;
  self->wait_ms_ = wait_ms;
  natsOptions* options = nullptr;
  natsStatus s = natsOptions_Create(&options);
  if (s == NATS_OK) s = natsOptions_SetURL(options, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(options, 2'000);
  // A server that goes away mid-run is an error now, not a wait of minutes.
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(options, false);
  if (s == NATS_OK) s = natsConnection_Connect(&self->nc_, options);
  natsOptions_Destroy(options);
  if (s != NATS_OK) {
    return Status::io_error(fmt::format("cannot connect to the NATS server at {}: {}", url, natsStatus_GetText(s)));
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = wait_ms;
  js_options.PublishAsync.MaxPending = 256;
  js_options.PublishAsync.ErrHandler = on_async_error;
  js_options.PublishAsync.ErrHandlerClosure = &async_errors();
  s = natsConnection_JetStream(&self->js_, self->nc_, &js_options);
  if (s != NATS_OK) return self->check(s, "JetStream context");
  *out = std::move(self);
  return Status::ok();
}

JetStream::~JetStream() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) natsConnection_Destroy(nc_);
}

Status JetStream::ensure_stream(const std::string& name, const std::vector<std::string>& subjects, bool work_queue) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return Status::ok();
  }
  if (jerr != JSStreamNotFoundErr) return check(s, "stream " + name, jerr);
  std::vector<const char*> names;
  for (const std::string& subject : subjects) names.push_back(subject.c_str());
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = name.c_str();
  config.Subjects = names.data();
  config.SubjectsLen = static_cast<int>(names.size());
  config.Storage = js_FileStorage;
  config.Retention = work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
  // Direct gets: the raw message, not a JSON reply with base64 data (4/3 the
  // bytes, and the encoding both ways).
  config.AllowDirect = true;
  s = js_AddStream(&info, js_, &config, nullptr, &jerr);
  if (s == NATS_OK) jsStreamInfo_Destroy(info);
  if (jerr == JSStreamNameExistErr) return Status::ok();  // another process made it meanwhile
  return check(s, "creating stream " + name, jerr);
}

Status JetStream::delete_stream(const std::string& name) {
  direct_.erase(name);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(js_, name.c_str(), nullptr, &jerr);
  if (jerr == JSStreamNotFoundErr) return Status::ok();
  return check(s, "deleting stream " + name, jerr);
}

Status JetStream::last_seq(const std::string& stream, uint64_t* seq) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return check(s, "stream " + stream, jerr);
  *seq = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  return Status::ok();
}

namespace {

uint64_t stored_seq(natsMsg* m) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(m, "Nats-Sequence", &value) == NATS_OK && value != nullptr) return std::strtoull(value, nullptr, 10);
  return natsMsg_GetSequence(m);
}

}  // namespace

// A direct get (the stream has AllowDirect); a stream made without it
// answers "no responders", and the API's get is used instead.
Status JetStream::fetch(const std::string& stream, uint64_t stream_seq, const std::string& last_subject, StoredMsg* msg) {
  natsMsg* m = nullptr;
  jsDirectGetMsgOptions options;
  jsDirectGetMsgOptions_Init(&options);
  if (last_subject.empty()) {
    options.Sequence = stream_seq;
  } else {
    options.LastBySubject = last_subject.c_str();
  }
  const std::string what = last_subject.empty() ? fmt::format("stream {} message {}", stream, stream_seq)
                                                : fmt::format("stream {} subject {}", stream, last_subject);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  // Once per stream: does it exist, and does it allow direct gets?
  auto known = direct_.find(stream);
  if (known == direct_.end()) {
    jsStreamInfo* info = nullptr;
    natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &jerr);
    if (s != NATS_OK) return check(s, what, jerr);
    known = direct_.emplace(stream, info->Config != nullptr && info->Config->AllowDirect).first;
    jsStreamInfo_Destroy(info);
  }
  natsStatus s = known->second ? js_DirectGetMsg(&m, js_, stream.c_str(), nullptr, &options) : NATS_NO_RESPONDERS;
  if (s == NATS_NO_RESPONDERS) {
    s = last_subject.empty() ? js_GetMsg(&m, js_, stream.c_str(), stream_seq, nullptr, &jerr)
                             : js_GetLastMsg(&m, js_, stream.c_str(), last_subject.c_str(), nullptr, &jerr);
  }
  if (s != NATS_OK) return check(s, what, jerr);
  msg->data = msg_data(m);
  msg->stream_seq = stored_seq(m);
  natsMsg_Destroy(m);
  return Status::ok();
}

Status JetStream::get(const std::string& stream, uint64_t stream_seq, StoredMsg* msg) {
  return fetch(stream, stream_seq, "", msg);
}

Status JetStream::get_last(const std::string& stream, const std::string& subject, StoredMsg* msg) {
  return fetch(stream, 0, subject, msg);
}

Status JetStream::publish_async(const std::string& subject, std::string_view data, const std::string& msg_id,
                                uint64_t expect_last_seq) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (!msg_id.empty()) options.MsgId = msg_id.c_str();
  options.ExpectLastSeq = expect_last_seq;
  natsStatus s = js_PublishAsync(js_, subject.c_str(), data.data(), static_cast<int>(data.size()), &options);
  return check(s, "publishing to " + subject);
}

Status JetStream::publish_complete(int64_t timeout_ms) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = timeout_ms;
  natsStatus s = js_PublishAsyncComplete(js_, &options);
  AsyncErrors& errors = async_errors();
  std::lock_guard lock(errors.mutex);
  if (errors.count != 0) {
    Status failed = Status::io_error(fmt::format("{} ({} publishes failed; NATS server {})", errors.first, errors.count, url_));
    errors.count = 0;
    return failed;
  }
  return check(s, "waiting for the server's acknowledgements");
}

Status JetStream::publish(const std::string& subject, std::string_view data, const std::string& msg_id) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (!msg_id.empty()) options.MsgId = msg_id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&ack, js_, subject.c_str(), data.data(), static_cast<int>(data.size()), &options, &jerr);
  if (ack != nullptr) jsPubAck_Destroy(ack);
  return check(s, "publishing to " + subject, jerr);
}

// Part 0: u32 parts ‖ u64 size ‖ SHA-256(data) ‖ bytes; the others: bytes.
Status JetStream::put_blob(const std::string& stream, const std::string& prefix, std::string_view data, bool async) {
  (void)stream;
  const size_t parts = data.empty() ? 1 : (data.size() + kBlobPart - 1) / kBlobPart;
  const Hash digest = sha256(data);
  for (size_t i = 0; i < parts; ++i) {
    std::string part;
    if (i == 0) {
      append_be(part, parts, 4);
      append_be(part, data.size(), 8);
      part.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    }
    part.append(data.substr(i * kBlobPart, kBlobPart));
    const std::string subject = fmt::format("{}.p{}", prefix, i);
    // The id is the subject and the digest: the same blob published again is
    // dropped by the stream's duplicate window, a different one is not.
    const std::string id = subject + "." + to_hex(digest).substr(0, 16);
    if (Status s = async ? publish_async(subject, part, id) : publish(subject, part, id); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status JetStream::read_blob(const std::string& stream, const std::string& prefix, std::string* data) {
  StoredMsg first;
  if (Status s = get_last(stream, prefix + ".p0", &first); !s.is_ok()) return s;
  if (first.data.size() < 44) return Status::corruption(prefix + ": part 0 is truncated");
  const uint32_t parts = load_be32(first.data);
  const uint64_t size = load_be64(std::string_view(first.data).substr(4));
  Hash digest{};
  std::copy(first.data.begin() + 12, first.data.begin() + 44, digest.begin());
  data->assign(first.data, 44);
  for (uint32_t i = 1; i < parts; ++i) {
    StoredMsg part;
    Status s = get_last(stream, fmt::format("{}.p{}", prefix, i), &part);
    if (s.code() == Status::Code::NotFound) {
      return Status::corruption(fmt::format("{}: part {} of {} is missing (incomplete)", prefix, i, parts));
    }
    if (!s.is_ok()) return s;
    data->append(part.data);
  }
  if (data->size() != size || sha256(*data) != digest) {
    return Status::corruption(fmt::format("{}: the parts do not add up to the blob their first part describes", prefix));
  }
  return Status::ok();
}

}  // namespace liql::cluster
