#include "engine/keeper.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <stdexcept>

#include "engine/health.h"

namespace liql {
namespace {

// The largest price the state can hold (SPEC §7: 32-byte two's complement).
const Wide& max_price() {
  static const Wide value = (Wide(1) << 255) - 1;
  return value;
}

// The first instrument the account holds that has no price yet (the quote
// asset is always priced at WAD), or nullopt when every price is present.
std::optional<Instrument> missing_price(const State& state, const Account& account) {
  for (const auto& entry : account.balances) {
    if (entry.first != kQuoteAsset && !state.assets.at(entry.first).oracle.present) {
      return Instrument::asset(entry.first);
    }
  }
  for (const auto& entry : account.positions) {
    if (!state.markets.at(entry.first).oracle.present) return Instrument::market(entry.first);
  }
  return std::nullopt;
}

// dH_maint/dP of one priced holding, exactly: numerator / 10^den_exp.
struct Sensitivity {
  Instrument instrument;
  Wide numerator;
  unsigned den_exp = 0;
};
using Sensitivities = boost::container::small_vector<Sensitivity, 4>;

// Sign-definite accounts: with no perp and every balance ≥ 0 (a pure
// depositor) every term is ≥ 0 at any price, so H ≥ 0 forever; with no perp
// and every balance ≤ 0 every term is ≤ 0 and a nonzero one is ≤ −1, so an
// account under water stays under. Neither needs a band.
bool needs_no_band(const Account& account, bool under) {
  if (!account.positions.empty()) return false;
  bool any_positive = false, any_negative = false;
  for (const auto& entry : account.balances) {
    (entry.second.sign() > 0 ? any_positive : any_negative) = true;
  }
  return under ? !any_positive : !any_negative;
}

// The priced terms of H_maint with their slopes s_i, and R: one unit of
// rounding per floored token term, two per perp term.
Sensitivities sensitivities(const State& state, const Account& account, int64_t* rounding) {
  const unsigned qd = state.quote_decimals();
  Sensitivities terms;
  for (const auto& [asset, balance] : account.balances) {
    if (asset == kQuoteAsset) continue;  // price WAD forever: a constant term
    const AssetParams& params = state.assets.at(asset).params;
    const Int& w = balance.sign() >= 0 ? params.asset_weight.maint : params.liab_weight.maint;
    *rounding += 1;
    Wide numerator = Wide(balance) * Wide(w) * pow10_wide(qd);
    if (!numerator.is_zero())
      terms.push_back(Sensitivity{Instrument::asset(asset), std::move(numerator), params.decimals + 36});
  }
  for (const auto& [market, position] : account.positions) {
    const MarketParams& params = state.markets.at(market).params;
    *rounding += 2;
    Wide numerator =
        (Wide(position.base) * Wide(wad()) - Wide(abs(position.base)) * Wide(params.margin.maint)) * pow10_wide(qd);
    if (!numerator.is_zero()) {
      terms.push_back(Sensitivity{Instrument::market(market), std::move(numerator), params.base_decimals + 36});
    }
  }
  return terms;
}

// Σ |s_i|·P_i, exactly: total / 10^den_exp, with den_exp the largest den_i.
struct Exposure {
  Wide total = 0;
  unsigned den_exp = 0;
};

Exposure exposure_of(const State& state, const Sensitivities& terms) {
  Exposure exposure;
  for (const Sensitivity& term : terms) exposure.den_exp = std::max(exposure.den_exp, term.den_exp);
  for (const Sensitivity& term : terms) {
    const Wide magnitude = term.numerator.sign() > 0 ? term.numerator : Wide(-term.numerator);
    exposure.total +=
        magnitude * Wide(oracle_of(state, term.instrument).price) * pow10_wide(exposure.den_exp - term.den_exp);
  }
  return exposure;
}

}  // namespace

const Oracle& oracle_of(const State& state, Instrument instrument) {
  return instrument.kind == Instrument::Kind::Asset ? state.assets.at(instrument.id).oracle
                                                    : state.markets.at(instrument.id).oracle;
}

const std::string& instrument_symbol(const State& state, Instrument instrument) {
  return instrument.kind == Instrument::Kind::Asset ? state.assets.at(instrument.id).params.symbol
                                                    : state.markets.at(instrument.id).params.symbol;
}

Instrument instrument_of(const fb::Price& price) {
  return price.asset().has_value() ? Instrument::asset(*price.asset()) : Instrument::market(*price.market());
}

std::string instrument_name(Instrument instrument) {
  return (instrument.kind == Instrument::Kind::Asset ? "asset:" : "market:") + std::to_string(instrument.id);
}

KeeperIndex::Book& KeeperIndex::book(Instrument instrument) { return books_[instrument]; }

KeeperIndex::PriceKey KeeperIndex::key_of(const Int& price) {
  uint64_t limbs[4];
  to_limbs(price, limbs);
  return PriceKey{limbs[3], limbs[2], limbs[1], limbs[0]};
}

Int KeeperIndex::price_of(const PriceKey& key) {
  const uint64_t limbs[4] = {key[3], key[2], key[1], key[0]};
  return from_limbs(limbs);
}

void KeeperIndex::insert(Tracked& tracked, Instrument instrument, BookMap& map, const Int& key) {
  tracked.entries.push_back(Entry{instrument, &map, map.emplace(key_of(key), &tracked)});
}

void KeeperIndex::unlink(Tracked& tracked) {
  for (const Entry& entry : tracked.entries) entry.map->erase(entry.it);
  tracked.entries.clear();
  if (tracked.parked_on != nullptr) {
    tracked.parked_on->parked.erase(tracked.id);
    tracked.parked_on = nullptr;
  }
  tracked.tight = false;
}

// Any move of any of its prices re-evaluates the account.
void KeeperIndex::band_tight(const State& state, const Account& account, Tracked& tracked) {
  unlink(tracked);
  tracked.tight = true;
  auto both = [&](Instrument instrument) {
    Book& b = book(instrument);
    const Int& price = oracle_of(state, instrument).price;
    insert(tracked, instrument, b.fire_below, price);
    insert(tracked, instrument, b.fire_above, price);
  };
  for (const auto& entry : account.balances) {
    if (entry.first != kQuoteAsset) both(Instrument::asset(entry.first));
  }
  for (const auto& entry : account.positions) both(Instrument::market(entry.first));
}

void KeeperIndex::band(const State& state, const Account& account, Tracked& tracked, const Int& health, bool under) {
  if (needs_no_band(account, under)) return;
  try {
    int64_t rounding = 0;
    const Sensitivities terms = sensitivities(state, account, &rounding);
    // With E the exact sum: E(P⁰) ≥ H⁰ > E(P⁰) − R (R ≥ 1 whenever a term is priced).
    // Healthy: H(P) > E(P) − R ≥ H⁰ + Σ s·ΔP − R ≥ H⁰ − S − R = −1 when Σ s·ΔP ≥ −S,
    //   so the integer H(P) ≥ 0.
    // Under water: H(P) ≤ E(P) < H⁰ + R + Σ s·ΔP ≤ H⁰ + R + S = 0 when Σ s·ΔP ≤ S.
    // (No priced term at all: H is a constant, the budget only has to be ≥ 0.)
    const Int budget = under ? Int(-health - rounding) : Int(health - rounding + 1);
    if (budget.sign() < 0) {
      band_tight(state, account, tracked);
      return;
    }
    if (terms.empty()) return;  // no price moves H beyond its rounding: nothing can change
    // Each price may move by the same fraction of itself: shift_j = ⌊S · P_j / Σ |s_i|·P_i⌋.
    const Exposure exposure = exposure_of(state, terms);
    const Wide scaled_budget = Wide(budget) * pow10_wide(exposure.den_exp);
    for (const Sensitivity& term : terms) {
      const bool rising = term.numerator.sign() > 0;  // H rises with this price
      const Wide shift = fdiv(scaled_budget * Wide(oracle_of(state, term.instrument).price), exposure.total);
      Book& b = book(term.instrument);
      const Wide price(oracle_of(state, term.instrument).price);
      // Healthy with s > 0 or under water with s < 0: what hurts (or keeps it
      // under) is a falling price, so the band is bounded below.
      if (rising != under) {
        const Wide key = price - shift;
        if (key.sign() > 0) insert(tracked, term.instrument, b.fire_below, narrow(key));  // else: prices are > 0
      } else {
        const Wide key = price + shift;
        if (key <= max_price()) insert(tracked, term.instrument, b.fire_above, narrow(key));
      }
    }
  } catch (const std::overflow_error&) {
    band_tight(state, account, tracked);
  } catch (const std::range_error&) {
    band_tight(state, account, tracked);
  }
}

void KeeperIndex::evaluate(const State& state, Tracked& tracked) {
  unlink(tracked);
  ++stats_.reevaluated;
  const Account* account = state.account(tracked.id);
  if (account == nullptr) {  // not in this state (never the case after an applied event)
    liquidatable_.erase(tracked.id);
    return;
  }
  if (std::optional<Instrument> missing = missing_price(state, *account)) {
    liquidatable_.erase(tracked.id);
    Book& b = book(*missing);
    b.parked.insert(tracked.id);
    tracked.parked_on = &b;
    return;
  }
  Int health;
  try {
    health = account_health(state, *account, Level::Maint).value;
  } catch (const std::overflow_error&) {
    liquidatable_.erase(tracked.id);
    band_tight(state, *account, tracked);
    return;
  } catch (const std::range_error&) {
    liquidatable_.erase(tracked.id);
    band_tight(state, *account, tracked);
    return;
  }
  const bool under = health.sign() < 0;
  if (under) {
    liquidatable_.insert(tracked.id);
  } else {
    liquidatable_.erase(tracked.id);
  }
  band(state, *account, tracked, health, under);
}

void KeeperIndex::rebuild(const State& state) {
  tracked_.clear();
  books_.clear();
  liquidatable_.clear();
  if (!state.has_genesis()) return;
  for (AccountId id : state.sorted_account_ids()) {
    auto it = tracked_.emplace_hint(tracked_.end(), id, Tracked{});
    it->second.id = id;
    evaluate(state, it->second);
  }
}

void KeeperIndex::on_accounts(const State& state, std::span<const AccountId> ids) {
  for (AccountId id : ids) {
    auto [it, inserted] = tracked_.try_emplace(id);
    it->second.id = id;
    evaluate(state, it->second);
  }
}

void KeeperIndex::on_params(const State& state, Instrument instrument) {
  // A cheap pass over every account; only the holders are evaluated.
  for (auto& [id, tracked] : tracked_) {
    const Account* account = state.account(id);
    if (account == nullptr) continue;
    const bool holds = instrument.kind == Instrument::Kind::Asset ? account->balances.contains(instrument.id)
                                                                  : account->positions.contains(instrument.id);
    if (holds) evaluate(state, tracked);
  }
}

void KeeperIndex::on_price(const State& state, Instrument instrument) {
  ++stats_.updates;
  stats_.last_update_reevaluated = 0;
  auto found = books_.find(instrument);
  if (found == books_.end()) return;
  const Oracle& oracle = oracle_of(state, instrument);
  if (!oracle.present) return;
  const PriceKey price = key_of(oracle.price);
  Book& b = found->second;
  // Keys of fire_below are ≤ the previous price and keys of fire_above ≥ it,
  // so the crossed entries are the tails at the books' two ends.
  std::vector<Tracked*> crossed;
  for (auto it = b.fire_below.end(); it != b.fire_below.begin();) {
    --it;
    if (!(it->first > price)) break;
    crossed.push_back(it->second);
  }
  for (auto it = b.fire_above.begin(); it != b.fire_above.end() && it->first < price; ++it) {
    crossed.push_back(it->second);
  }
  for (AccountId id : b.parked) crossed.push_back(&tracked_.at(id));
  if (crossed.empty()) return;
  std::sort(crossed.begin(), crossed.end(), [](const Tracked* a, const Tracked* c) { return a->id < c->id; });
  crossed.erase(std::unique(crossed.begin(), crossed.end()), crossed.end());
  for (Tracked* tracked : crossed) evaluate(state, *tracked);
  stats_.last_update_reevaluated = crossed.size();
  stats_.price_reevaluated += crossed.size();
}

void KeeperIndex::on_event(const State& state_after, const fb::Event& event, const Outcome& outcome) {
  if (!outcome.applied()) return;  // a rejected event changes no account and no price
  switch (event.body_type()) {
    case fb::Body::Genesis:
      rebuild(state_after);
      return;
    case fb::Body::SetAsset:
      on_params(state_after, Instrument::asset(event.body_as_SetAsset()->asset()));
      return;
    case fb::Body::SetMarket:
      on_params(state_after, Instrument::market(event.body_as_SetMarket()->market()));
      return;
    case fb::Body::Price:
      on_price(state_after, instrument_of(*event.body_as_Price()));
      return;
    default:
      on_accounts(state_after, outcome.touched);
      return;
  }
}

std::vector<KeeperTrigger> KeeperIndex::triggers(AccountId id) const {
  std::vector<KeeperTrigger> out;
  auto it = tracked_.find(id);
  if (it == tracked_.end()) return out;
  for (const Entry& entry : it->second.entries) {
    const Book& b = books_.at(entry.instrument);
    out.push_back(KeeperTrigger{entry.instrument, price_of(entry.it->first), entry.map == &b.fire_below});
  }
  return out;
}

bool KeeperIndex::parked(AccountId id) const {
  auto it = tracked_.find(id);
  return it != tracked_.end() && it->second.parked_on != nullptr;
}

bool KeeperIndex::tight(AccountId id) const {
  auto it = tracked_.find(id);
  return it != tracked_.end() && it->second.tight;
}

size_t KeeperIndex::entries() const {
  size_t total = 0;
  for (const auto& [instrument, b] : books_) total += b.fire_below.size() + b.fire_above.size();
  return total;
}

}  // namespace liql
