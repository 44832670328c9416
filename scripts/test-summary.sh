#!/usr/bin/env bash
# Adds up the per-project lines of `dotnet test` into one closing line: "N passed, N failed, N skipped".
log=$1
awk '
  /(Passed|Failed)! +- +Failed: / {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
    seen = 1
  }
  END { if (seen) printf "%d passed, %d failed, %d skipped\n", p, f, s; else print "no test results found" }
' "$log"
