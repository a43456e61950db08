#include "replay/proof.h"

#include <nlohmann/json.hpp>

#include <set>

namespace liql {
namespace {

using Json = nlohmann::ordered_json;

// Thrown by the reader with the field's path; becomes InvalidArgument.
struct Malformed {
  std::string field, message;
};

class Reader {
 public:
  // The object at `where`, whose keys must all be among `keys`.
  static const Json& object(const Json& value, const std::string& where, std::initializer_list<const char*> keys) {
    if (!value.is_object()) throw Malformed{where, "expected an object"};
    const std::set<std::string> known(keys.begin(), keys.end());
    for (const auto& item : value.items()) {
      if (!known.count(item.key())) throw Malformed{join(where, item.key()), "unknown field"};
    }
    for (const char* key : keys) {
      if (!value.contains(key)) throw Malformed{join(where, key), "missing"};
    }
    return value;
  }

  static uint64_t u64(const Json& value, const std::string& where, uint64_t max = UINT64_MAX) {
    if (!value.is_number_unsigned() || value.get<uint64_t>() > max) {
      throw Malformed{where, "expected an integer from 0 to " + std::to_string(max)};
    }
    return value.get<uint64_t>();
  }

  // A canonical integer string: optional '-', digits without leading zeros, no "-0".
  static Int integer(const Json& value, const std::string& where) {
    if (!value.is_string()) throw Malformed{where, "expected an integer string"};
    const std::string& text = value.get_ref<const std::string&>();
    const size_t digits = text.size() > 0 && text[0] == '-' ? 1 : 0;
    bool canonical = text.size() > digits && text.find_first_not_of("0123456789", digits) == std::string::npos &&
                     !(text[digits] == '0' && text.size() > digits + 1) && text != "-0";
    if (!canonical) throw Malformed{where, "expected an integer string"};
    try {
      const std::optional<Int> parsed = parse_units(text, 0);
      if (parsed) return *parsed;
    } catch (const std::overflow_error&) {
    }
    throw Malformed{where, "outside 32-byte two's complement"};
  }

  static Hash hash(const Json& value, const std::string& where) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    if (!value.is_string() || value.get_ref<const std::string&>().size() != 64) {
      throw Malformed{where, "expected 64 lowercase hex digits"};
    }
    const std::string& text = value.get_ref<const std::string&>();
    Hash out{};
    for (size_t i = 0; i < 32; ++i) {
      const size_t high = kHex.find(text[2 * i]), low = kHex.find(text[2 * i + 1]);
      if (high == std::string_view::npos || low == std::string_view::npos) {
        throw Malformed{where, "expected 64 lowercase hex digits"};
      }
      out[i] = static_cast<uint8_t>(high * 16 + low);
    }
    return out;
  }

  static const Json& array(const Json& value, const std::string& where) {
    if (!value.is_array()) throw Malformed{where, "expected an array"};
    return value;
  }

  // Ids must be strictly ascending, as in the records.
  static uint32_t ascending_id(const Json& value, const std::string& where, bool first, uint32_t previous) {
    const uint32_t id = static_cast<uint32_t>(u64(value, where, UINT32_MAX));
    if (!first && id <= previous) throw Malformed{where, "ids must be strictly ascending"};
    return id;
  }

  static Sums sums(const Json& value, const std::string& where) {
    Sums out;
    const Json& entries = array(value, where);
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      const Json& entry = object(entries[i], at, {"asset", "credit", "debit"});
      const uint32_t asset =
          ascending_id(entry["asset"], join(at, "asset"), out.empty(), out.empty() ? 0 : out.rbegin()->first);
      SumPair pair{integer(entry["credit"], join(at, "credit")), integer(entry["debit"], join(at, "debit"))};
      if (pair.credit.sign() < 0) throw Malformed{join(at, "credit"), "negative"};
      if (pair.debit.sign() < 0) throw Malformed{join(at, "debit"), "negative"};
      if (pair.credit.is_zero() && pair.debit.is_zero()) throw Malformed{at, "an entry with both zero is omitted"};
      out.emplace_hint(out.end(), asset, std::move(pair));
    }
    return out;
  }

  static std::string join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
};

void read_proof(const Json& root, InclusionProof* proof) {
  using R = Reader;
  const Json& top = R::object(root, "", {"format", "seq", "ts", "state_hash", "globals_hash", "account_count", "index",
                                         "account", "path", "totals"});
  if (!top["format"].is_string() || top["format"].get<std::string>() != kProofFormat) {
    throw Malformed{"format", "expected \"" + std::string(kProofFormat) + "\""};
  }
  proof->seq = R::u64(top["seq"], "seq");
  proof->ts = R::u64(top["ts"], "ts");
  proof->state_hash = R::hash(top["state_hash"], "state_hash");
  proof->globals_hash = R::hash(top["globals_hash"], "globals_hash");
  proof->account_count = R::u64(top["account_count"], "account_count");
  proof->index = R::u64(top["index"], "index");

  const Json& account = R::object(top["account"], "account", {"id", "balances", "positions"});
  proof->id = R::u64(account["id"], "account.id");
  proof->account = Account{};
  const Json& balances = R::array(account["balances"], "account.balances");
  for (size_t i = 0; i < balances.size(); ++i) {
    const std::string at = "account.balances[" + std::to_string(i) + "]";
    const Json& entry = R::object(balances[i], at, {"asset", "amount"});
    auto& held = proof->account.balances;
    const uint32_t asset = R::ascending_id(entry["asset"], at + ".asset", held.empty(), held.empty() ? 0 : held.rbegin()->first);
    const Int amount = R::integer(entry["amount"], at + ".amount");
    if (amount.is_zero()) throw Malformed{at + ".amount", "a zero balance is omitted"};
    held.emplace_hint(held.end(), asset, amount);
  }
  const Json& positions = R::array(account["positions"], "account.positions");
  for (size_t i = 0; i < positions.size(); ++i) {
    const std::string at = "account.positions[" + std::to_string(i) + "]";
    const Json& entry = R::object(positions[i], at, {"market", "base", "quote"});
    auto& held = proof->account.positions;
    const uint32_t market =
        R::ascending_id(entry["market"], at + ".market", held.empty(), held.empty() ? 0 : held.rbegin()->first);
    Position position{R::integer(entry["base"], at + ".base"), R::integer(entry["quote"], at + ".quote")};
    if (position.base.is_zero()) throw Malformed{at + ".base", "a position with base 0 is omitted"};
    held.emplace_hint(held.end(), market, std::move(position));
  }

  const Json& path = R::array(top["path"], "path");
  proof->path.clear();
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string at = "path[" + std::to_string(i) + "]";
    const Json& step = R::object(path[i], at, {"hash", "sums"});
    proof->path.push_back(TreeNode{R::hash(step["hash"], at + ".hash"), R::sums(step["sums"], at + ".sums")});
  }
  proof->totals = R::sums(top["totals"], "totals");
}

}  // namespace

Json sums_json(const Sums& sums) {
  Json out = Json::array();
  for (const auto& [asset, pair] : sums) {
    out.push_back({{"asset", asset}, {"credit", pair.credit.str()}, {"debit", pair.debit.str()}});
  }
  return out;
}

std::string proof_json(const InclusionProof& proof) {
  Json out;
  out["format"] = std::string(kProofFormat);
  out["seq"] = proof.seq;
  out["ts"] = proof.ts;
  out["state_hash"] = to_hex(proof.state_hash);
  out["globals_hash"] = to_hex(proof.globals_hash);
  out["account_count"] = proof.account_count;
  out["index"] = proof.index;
  Json balances = Json::array();
  for (const auto& [asset, amount] : proof.account.balances) {
    balances.push_back({{"asset", asset}, {"amount", amount.str()}});
  }
  Json positions = Json::array();
  for (const auto& [market, position] : proof.account.positions) {
    positions.push_back({{"market", market}, {"base", position.base.str()}, {"quote", position.quote.str()}});
  }
  out["account"] = {{"id", proof.id}, {"balances", std::move(balances)}, {"positions", std::move(positions)}};
  Json path = Json::array();
  for (const TreeNode& node : proof.path) path.push_back({{"hash", to_hex(node.hash)}, {"sums", sums_json(node.sums)}});
  out["path"] = std::move(path);
  out["totals"] = sums_json(proof.totals);
  return out.dump();
}

Status parse_proof(std::string_view text, InclusionProof* proof) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::exception& e) {
    return Status::invalid_argument(std::string("proof: malformed JSON: ") + e.what());
  }
  try {
    read_proof(root, proof);
  } catch (const Malformed& malformed) {
    return Status::invalid_argument("proof: " + (malformed.field.empty() ? std::string("top level") : malformed.field) +
                                    ": " + malformed.message);
  }
  return Status::ok();
}

}  // namespace liql
