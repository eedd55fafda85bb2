-- One measurement window of `python -m bench` (see bench/load.py).
--
-- The request comes from the environment, so session cookies never land in a file or in the
-- process list: BENCH_METHOD, BENCH_BODY, BENCH_HEADERS ("Name: value" lines) and
-- BENCH_EXPECT (the status every answer should have). done() prints one JSON line: the
-- request count, the window's length, answers with another status, wrk's error counters
-- (errors.status = non-2xx/3xx answers) and 1,000 latency quantiles in microseconds.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
end
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+):%s*([^\n]*)") do
  wrk.headers[name] = value
end

local expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
local steps = 1000
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"unexpected":%d,"errors":{"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d},"latency_us":[',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, steps do
    -- percentile(100) answers 0 in wrk 4.1: the top quantile is the maximum.
    local value = latency.max
    if i < steps then
      value = latency:percentile(i * 100 / steps)
    end
    io.write(string.format(i > 1 and ",%d" or "%d", value))
  end
  io.write("]}\n")
end
