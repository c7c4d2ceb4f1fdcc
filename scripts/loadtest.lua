-- wrk script: every request a fresh signed Standard Webhooks delivery.
-- Reads the lines `id<TAB>timestamp<TAB>signature` written by gen_requests
-- (and the shared body from <file>.body); thread k of n sends lines k, k+n,
-- k+2n, ... so no two requests share an event id. Running out of lines wraps
-- around (those repeats would be answered 200 as duplicates); the script
-- reports how many requests it sent beyond its share.
-- Usage: wrk ... -s loadtest.lua http://127.0.0.1:PORT/webhook -- <file> <threads>

local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2]) or 1
  local f = assert(io.open(file .. ".body", "rb"))
  local body = f:read("*a")
  f:close()
  reqs = {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == tid then
      local id, ts, sig = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
      reqs[#reqs + 1] = wrk.format("POST", "/webhook", {
        ["webhook-id"] = id,
        ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig,
        ["content-type"] = "application/json",
      }, body)
    end
    n = n + 1
  end
  idx = 0
  wrapped = 0
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = wrapped + 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  local wraps = 0
  for _, t in ipairs(threads) do
    wraps = wraps + (t:get("wrapped") or 0)
  end
  io.write(string.format("LT requests=%d errors=%d non2xx=%d rps=%.0f p50_us=%d p90_us=%d p99_us=%d wraps=%d\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), wraps))
end
