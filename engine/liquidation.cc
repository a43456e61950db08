#include "engine/liquidation.h"

namespace liql {
namespace {

// H_target of the account without the terms of the holdings the liquidation changes.
Int target_without(const State& state, const Account& account, MarketId skip_market, AssetId skip_a, AssetId skip_b,
                   bool skip_assets) {
  Int total = 0;
  for (const auto& [asset, balance] : account.balances) {
    if (skip_assets && (asset == skip_a || asset == skip_b)) continue;
    total += token_term(state, asset, balance, Level::Target);
  }
  for (const auto& [market, position] : account.positions) {
    if (!skip_assets && market == skip_market) continue;
    total += perp_term(state, market, position, Level::Target).term();
  }
  return total;
}

}  // namespace

PenaltySplit split_penalty(const Protocol& protocol, const Int& total) {
  PenaltySplit split;
  split.total = total;
  split.liquidator = muldiv_floor(total, protocol.liquidator_share, wad());
  split.insurance = muldiv_floor(total, protocol.insurance_share, wad());
  split.treasury = total - split.liquidator - split.insurance;
  return split;
}

PerpTransfer perp_transfer(const State& state, MarketId market, const Int& size) {
  return PerpTransfer{notional(state, market, size), notional_ceil(state, market, size)};
}

Int perp_penalty(const State& state, MarketId market, const Int& transfer_floor) {
  return muldiv_ceil(transfer_floor, state.markets.at(market).params.liquidation_fee, wad());
}

Int perp_penalty_for_size(const State& state, MarketId market, const Int& size) {
  return perp_penalty(state, market, perp_transfer(state, market, size).floor);
}

Position position_after_close(const Position& position, const PerpTransfer& transfer, const Int& size,
                              const Int& penalty) {
  Position after;
  if (position.base.sign() > 0) {
    // A long hands over base and receives quote: it gets the rounded-down amount.
    after.base = position.base - size;
    after.quote = position.quote + transfer.floor - penalty;
  } else {
    // A short hands over (negative) base and pays quote: it pays the rounded-up amount.
    after.base = position.base + size;
    after.quote = position.quote - transfer.ceil - penalty;
  }
  return after;
}

namespace {

// Where a search's ok(x) is known without its exact arithmetic (x a size or a
// repay): the exact H_target after the close is within a few rounding units
// of a real-valued R(x) that is linear in x, so past one threshold it is
// surely ≥ 0 and below another surely < 0. Only the probes between the two
// (in practice one lot or none) take the exact path, and every probe answers
// exactly as the exact path would: the search visits the same probes and
// gives SPEC's s* and r* (docs/DECISIONS.md). Each search's bound is proven
// where its thresholds are computed.
struct Certainty {
  bool usable = false;
  Int ok_from;    // x ≥ ok_from: ok
  Int not_below;  // x < not_below: not ok
};

__extension__ typedef unsigned __int128 U128;

// |value| as 128 bits when it is ≥ 0 and below 2^126.
bool below_2_126(const Int& value, U128* out) {
  uint64_t limbs[4];
  to_limbs(value, limbs);
  if (value.sign() < 0 || limbs[2] != 0 || limbs[3] != 0 || (limbs[1] >> 62) != 0) return false;
  *out = (static_cast<U128>(limbs[1]) << 64) | limbs[0];
  return true;
}

// The search of SPEC §5.1/§5.2 over k ∈ [1, ⌈last / unit⌉], where a probe
// closes x(k) = min(k·unit, last) and `exact(x)` is its exact answer: probes
// the certainty answers skip it. In native 128-bit arithmetic when unit and
// last are below 2^126 (k·unit < last + unit then fits, and the thresholds
// are clamped to last + 1), so the search's own steps cost no Int operation;
// the same steps in Int otherwise. Returns k*. REQUIRES unit, last ≥ 1.
template <typename Exact>
Int search(const Int& unit, const Int& last, const Certainty& certainty, Exact exact) {
  const Int count = cdiv(last, unit);
  const auto run = [&](const auto& n, const auto& u, const auto& l, const auto& ok_from, const auto& not_below,
                       const auto& to_int) {
    return lower_bound_search(n, [&](const auto& k) {
      const auto scaled = k * u;
      const auto x = scaled < l ? scaled : l;
      if (certainty.usable) {
        if (x >= ok_from) return true;
        if (x < not_below) return false;
      }
      return exact(to_int(x));
    });
  };
  U128 n = 0, u = 0, l = 0, ok_from = 0, not_below = 0;
  if (below_2_126(count, &n) && below_2_126(unit, &u) && below_2_126(last, &l) &&
      (!certainty.usable || (below_2_126(certainty.ok_from, &ok_from) && below_2_126(certainty.not_below, &not_below)))) {
    return Int(run(n, u, l, ok_from, not_below, [](U128 x) { return Int(x); }));
  }
  return run(count, unit, last, certainty.ok_from, certainty.not_below, [](const Int& x) { return x; });
}

// R(x)·E = c0 + x·g with g > 0: the least x with x·g ≥ target, ⌈target / g⌉,
// clamped to [0, last + 1] (beyond either end a threshold decides nothing more).
Int least_reaching(const Wide& target, const Wide& g, const Int& last) {
  const Wide least = cdiv(target, g);
  if (least.sign() < 0) return Int(0);
  const Wide past = Wide(last) + 1;
  return narrow(least < past ? least : past);
}

// Bits of |value| (0 for 0): guards that a product formed in 512 bits fits.
template <typename T>
unsigned bits(const T& value) {
  return value.is_zero() ? 0 : static_cast<unsigned>(boost::multiprecision::msb(value < 0 ? T(-value) : value)) + 1;
}

// s*: the exact H_target after closing s differs from
//   R(s) = rest + Q + X(B) − μ·|X(B)| + (μ − φ)·X(s),
// X(b) = b·P·10^qd / (10^bd·WAD), μ = margin_target / WAD, φ = fee / WAD,
// by its four roundings (the remaining notional, the transfer, the penalty,
// the requirement), each in (−1, 0] but the penalty's in (−1, φ]:
// −4 < H − R(s) ≤ φ. So R(s) ≥ 4 means ok, and R(s) < −1 (φ < 1) not ok.
// The thresholds hold only when no probe's exact arithmetic could overflow
// (that would reject the event): every value a probe forms is a sum of a few
// terms bounded by |rest|, |Q| and |X(B)|, so each below 2^250 keeps them in
// range. And only under the listing rule fee < margin_target ≤ WAD, where R
// rises with s; otherwise every probe is exact. Nothing here throws: the
// products are formed in 512 bits once their sizes are known to fit.
Certainty perp_certainty(const State& state, MarketId market, const Position& position, const Int& abs_base,
                         const Int& rest) {
  const Market& m = state.markets.at(market);
  const Int& margin = m.params.margin.target;
  const Int& fee = m.params.liquidation_fee;
  if (fee.sign() < 0 || !(fee < margin) || wad() < margin) return {};
  if (bits(rest) > 250 || bits(position.quote) > 250) return {};  // |rest|, |Q| < 2^250
  if (bits(abs_base) + bits(m.oracle.price) > 380) return {};
  // Everything times D = 10^bd·WAD·WAD: R(s)·D = c0 + s·g.
  const Wide scale = Wide(m.oracle.price) * pow10_wide(state.quote_decimals());  // P·10^qd
  const Wide& n = pow10_wide(m.params.base_decimals + 18);                       // X's denominator
  const Wide abs_x = Wide(abs_base) * scale;                                     // |X(B)|·n, < 2^500
  if (bits(abs_x) > bits(n) + 249) return {};                                    // |X(B)| < 2^250
  const Wide& d = pow10_wide(m.params.base_decimals + 36);
  const Int signed_wad = position.base.sign() < 0 ? Int(-wad()) : wad();  // X(B) = ±|X(B)|
  const Wide c0 = Wide(rest + position.quote) * d + abs_x * Wide(signed_wad - margin);
  const Wide g = scale * Wide(margin - fee);  // > 0
  Certainty certainty;
  certainty.usable = true;
  certainty.ok_from = least_reaching(4 * d - c0, g, abs_base);  // R(s) ≥ 4 ⇔ s·g ≥ 4D − c0
  certainty.not_below = least_reaching(-d - c0, g, abs_base);   // R(s) < −1 ⇔ s·g < −D − c0
  return certainty;
}

}  // namespace

RequiredSize perp_required(const State& state, const Account& account, MarketId market) {
  const Position& position = account.positions.at(market);
  const MarketParams& params = state.markets.at(market).params;
  const Int abs_base = abs(position.base);
  const Int rest = target_without(state, account, market, 0, 0, false);
  const Certainty certainty = perp_certainty(state, market, position, abs_base, rest);
  auto size_of = [&](const Int& k) {
    Int size = k * params.lot_size;
    return size < abs_base ? size : abs_base;
  };
  auto exact = [&](const Int& size) {
    const PerpTransfer transfer = perp_transfer(state, market, size);
    const Int penalty = perp_penalty(state, market, transfer.floor);
    const Position after = position_after_close(position, transfer, size, penalty);
    return (rest + perp_term(state, market, after, Level::Target).term()).sign() >= 0;
  };
  RequiredSize required;
  required.size = size_of(search(params.lot_size, abs_base, certainty, exact));
  const Int left = abs_base - required.size;
  if (left.sign() > 0 && left < params.min_position) {
    required.size = abs_base;
    required.dust_rule = true;
  }
  return required;
}

namespace {

// seize_exact(r) = r · base_numerator · (WAD + bonus_C) / (base_denominator · WAD),
// the factors that do not depend on r formed once (a search evaluates many r).
struct SeizureRate {
  SeizureRate(const State& state, AssetId liability, AssetId collateral) {
    const AssetParams& l = state.assets.at(liability).params;
    const AssetParams& c = state.assets.at(collateral).params;
    base_numerator = Wide(asset_price(state, liability)) * pow10_wide(c.decimals);
    base_denominator = pow10_wide(l.decimals) * Wide(asset_price(state, collateral));
    numerator = base_numerator * Wide(wad() + c.liquidation_bonus);
    denominator = base_denominator * Wide(wad());
  }
  // For a search, which evaluates ceil() many times: N/D in lowest terms is
  // usually small (powers of ten cancel), and ⌈r·N/D⌉ then takes muldiv_ceil's
  // 128-bit path. Same value either way.
  void reduce() {
    const Wide divisor = boost::multiprecision::gcd(numerator, denominator);
    const Wide n = numerator / divisor, d = denominator / divisor;
    if (boost::multiprecision::msb(n) < 250 && boost::multiprecision::msb(d) < 250) {
      reduced_numerator = narrow(n);
      reduced_denominator = narrow(d);
    }
  }
  // ⌈seize_exact(repay)⌉, what the account gives.
  Int ceil(const Int& repay) const {
    if (reduced_denominator.sign() > 0) return muldiv_ceil(repay, reduced_numerator, reduced_denominator);
    return narrow(cdiv(Wide(repay) * numerator, denominator));
  }
  Seizure of(const Int& repay) const {
    const Wide scaled = Wide(repay) * numerator;
    Seizure seizure;
    seizure.ceil = narrow(cdiv(scaled, denominator));
    seizure.floor = narrow(fdiv(scaled, denominator));
    seizure.bonus = seizure.floor - narrow(fdiv(Wide(repay) * base_numerator, base_denominator));
    return seizure;
  }
  Wide base_numerator, base_denominator, numerator, denominator;
  Int reduced_numerator, reduced_denominator;  // 0 / 0 when N/D in lowest terms is still large
};

}  // namespace

Seizure token_seizure(const State& state, AssetId liability, AssetId collateral, const Int& repay) {
  return SeizureRate(state, liability, collateral).of(repay);
}

Int token_repay_cap(const State& state, const Account& account, AssetId liability, AssetId collateral) {
  const Int abs_debt = abs(account.balance(liability));
  // ⌈r·N/D⌉ ≤ b_C ⇔ r·N ≤ b_C·D ⇔ r ≤ ⌊b_C·D/N⌋
  const SeizureRate rate(state, liability, collateral);
  const Int r_max = narrow(fdiv(Wide(account.balance(collateral)) * rate.denominator, rate.numerator));
  return r_max < abs_debt ? r_max : abs_debt;
}

namespace {

// The r* search's counterpart of perp_certainty. With debt + r ≤ 0 and
// held − ⌈seize(r)⌉ ≥ 0 over the whole search (r ≤ cap ≤ min(|debt|, r_max)),
// the weights are fixed (liability, asset) and the exact H_target differs from
//   R(r) = rest + V_L(debt + r) + V_C(held − r·σ),
// V_a(b) = b·P_a·10^qd·w_a / (10^d_a·WAD²), σ = seize_exact(1),
// by two floors and the ceiling of the seizure: −2 − V_C(1) < H − R(r) ≤ 0.
// So R(r) ≥ 2 + V_C(1) means ok and R(r) < 0 means not ok. Times
// E = 10^d_L·10^d_C·WAD³, R(r)·E = c0 + r·g; used when g > 0 (repaying
// helps) and every product below, and every value an exact probe forms,
// provably fits (bit lengths); otherwise every probe is exact.
Certainty token_certainty(const State& state, AssetId liability, AssetId collateral, const Int& debt,
                          const Int& held, const Int& cap, const Int& rest, const SeizureRate& rate) {
  const Asset& l = state.assets.at(liability);
  const Asset& c = state.assets.at(collateral);
  if (liability == collateral || debt.sign() >= 0 || held.sign() <= 0 || cap.sign() <= 0 || abs(debt) < cap) return {};
  constexpr unsigned kTerm = 508;  // three terms below 2^508 sum below 2^512
  if (bits(rest) > 249 || bits(cap) + bits(rate.numerator) > kTerm || bits(held) + bits(rate.denominator) > kTerm) {
    return {};
  }
  // ⌈cap·σ⌉ ≤ held, so the collateral never goes negative within the search.
  if (Wide(cap) * rate.numerator > Wide(held) * rate.denominator) return {};
  const Int& p_l = asset_price(state, liability);
  const Int& p_c = asset_price(state, collateral);
  const Int& w_l = l.params.liab_weight.target;
  const Int& w_c = c.params.asset_weight.target;
  const Wide& quote_scale = pow10_wide(state.quote_decimals());
  const Wide l_scale = pow10_wide(l.params.decimals) * Wide(wad());  // 10^d_L·WAD
  const Wide c_scale = pow10_wide(c.params.decimals) * Wide(wad());  // 10^d_C·WAD
  const Wide e = l_scale * c_scale * Wide(wad());
  const unsigned q = bits(quote_scale);
  if (bits(debt) + bits(p_l) + q + bits(w_l) + bits(c_scale) > kTerm ||
      bits(held) + bits(p_c) + q + bits(w_c) + bits(l_scale) > kTerm || bits(rest) + bits(e) > kTerm ||
      bits(p_l) + bits(w_l) + bits(c_scale) + q > kTerm || bits(rate.numerator) + bits(w_c) + q > kTerm) {
    return {};
  }
  const Wide debt_term = Wide(debt) * Wide(p_l) * quote_scale * Wide(w_l) * c_scale;  // V_L(debt)·E
  const Wide held_term = Wide(held) * Wide(p_c) * quote_scale * Wide(w_c) * l_scale;  // V_C(held)·E
  // Each below 2^250 times E: every term an exact probe forms fits Int.
  const unsigned e_floor = bits(e) - 1;
  if (bits(debt_term) > e_floor + 250 || bits(held_term) > e_floor + 250) return {};
  const Wide g = quote_scale * (Wide(p_l) * Wide(w_l) * c_scale - rate.numerator * Wide(w_c));
  if (g.sign() <= 0) return {};
  const Wide c0 = Wide(rest) * e + debt_term + held_term;
  const Wide unit_c = Wide(p_c) * quote_scale * Wide(w_c) * l_scale;  // V_C(1)·E
  Certainty certainty;
  certainty.usable = true;
  certainty.ok_from = least_reaching(2 * e + unit_c - c0, g, cap);  // R(r) ≥ 2 + V_C(1)
  certainty.not_below = least_reaching(-c0, g, cap);                // R(r) < 0
  return certainty;
}

}  // namespace

Int token_required(const State& state, const Account& account, AssetId liability, AssetId collateral,
                   const Int& cap) {
  const Int rest = target_without(state, account, 0, liability, collateral, true);
  const Int debt = account.balance(liability);
  const Int held = account.balance(collateral);
  SeizureRate rate(state, liability, collateral);
  rate.reduce();
  const Certainty certainty = token_certainty(state, liability, collateral, debt, held, cap, rest, rate);
  auto exact = [&](const Int& repay) {
    const Int total = rest + token_term(state, liability, debt + repay, Level::Target) +
                      token_term(state, collateral, held - rate.ceil(repay), Level::Target);
    return total.sign() >= 0;
  };
  return search(Int(1), cap, certainty, exact);
}

bool exhausted(const State& state, const Account& account) {
  if (!account.positions.empty() || !priced(state, account)) return false;
  for (const auto& [liability, debt] : account.balances) {
    if (debt.sign() >= 0) continue;
    for (const auto& [collateral, held] : account.balances) {
      if (held.sign() > 0 && token_repay_cap(state, account, liability, collateral).sign() >= 1) return false;
    }
  }
  return true;
}

}  // namespace liql
