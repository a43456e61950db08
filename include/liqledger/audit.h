#pragma once
// liqledger public API: audit records of liquidations (SPEC §5.6).
//
// During a replay, every liquidation event's EventView::outcome.audit holds a
// liql::LiquidationAudit: account, liquidator, required, allowed, requested
// and executed sizes, penalty, pre/post health, and its liql::Verdict
// (Minimal, Under, AllowedExcess, OverLimit, Wrongful, Rejected,
// InvalidRecord, Absorbed; verdict_name() gives "UNDER", ...). The functions
// here print a record (JSON, CSV, table) and total them (AuditSummary).

#include <liqledger/machine.h>

#include "engine/outcome.h"  // liql::LiquidationAudit
#include "engine/types.h"    // liql::Verdict, verdict_name
#include "replay/audit.h"    // liql::AuditRecord, audit_json, audit_csv, AuditSummary
