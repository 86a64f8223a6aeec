-- wrk script: POST a valid inquiry, a different e-mail each request.
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"name":"Load Test","email":"load%d@example.com","company":"Bench Co","services":["migration"],"message":"We need to move 40 VMs this quarter"}',
    n)
  return wrk.format("POST", "/api/v1/inquiries", {["content-type"] = "application/json"}, body)
end
