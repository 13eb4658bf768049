-- novamesh edge shim: runs BEFORE the gRPC-JSON transcoder, so its request hook sees the path
-- the client sent and its response hook sees the transcoded JSON.
--
-- The generator prepends `local CONFIG = {...}` with:
--   fault_format   "nova" | "placement" | "glance"
--   strip_json     drop a legacy ".json" suffix from the path
--   strip_project  drop a /v2.1/{project_id}/ segment (any segment that is not a collection)
--   collections    set of first segments under /v2.1/ that are resources, not project ids
--   routes         list of {lua pattern, "GET, POST"}: the transcoded paths, for 405 + Allow
--   version_header header value for edge-made errors (placement echoes the requested version)
--   html_errors    errors as an HTML page when the client prefers text/html (webob does)
--   cors_headers   set of lower-case header names a CORS preflight may ask for (nil: no CORS)
--
-- Envoy caveats this code is shaped by:
--  * header wrappers die when the coroutine yields in body(): fetch headers() again after it;
--  * only call body() when the reply must change (errors, 201/202/204), so 200s and streams are not
--    buffered;
--  * native gRPC responses (application/grpc) pass untouched: those clients need 200 + trailers.

local META = "novamesh.edge"

local FAULT_NAMES = {
  [400] = "badRequest", [401] = "unauthorized", [403] = "forbidden", [404] = "itemNotFound",
  [405] = "badMethod", [409] = "conflictingRequest", [413] = "overLimit", [415] = "badMediaType",
  [429] = "overLimit", [501] = "notImplemented", [503] = "serviceUnavailable",
}

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [406] = "Not Acceptable", [409] = "Conflict",
  [410] = "Gone", [412] = "Precondition Failed", [413] = "Request Entity Too Large",
  [415] = "Unsupported Media Type", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

-- gRPC status code -> HTTP status, as Nova and Placement answer for the same condition.
local GRPC_TO_HTTP = {
  [1] = 500, [2] = 500, [3] = 400, [4] = 504, [5] = 404, [6] = 409, [7] = 403, [8] = 403,
  [9] = 409, [10] = 409, [11] = 400, [12] = 501, [13] = 500, [14] = 503, [15] = 500, [16] = 401,
}

local LEAKS = { "x-http-status", "x-error-code", "grpc-status", "grpc-message",
                "grpc-accept-encoding", "grpc-encoding", "grpc-status-details-bin" }

local function starts_with(s, prefix)
  return string.sub(s, 1, #prefix) == prefix
end

local function json_quote(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

-- protobuf's JSON printer writes <, > and & as \u003c, \u003e and \u0026; plain JSON doesn't
-- need that, and clients search error texts for them (placement's "amount >= 1").
local function plain_escapes(token)
  token = string.gsub(token, "\\u003c", "<")
  token = string.gsub(token, "\\u003e", ">")
  return (string.gsub(token, "\\u0026", "&"))
end

-- The raw JSON string token (quotes and escapes kept) of "key" in s: no JSON decoding in Lua.
local function json_string_token(s, key)
  local pat = '"' .. key .. '":'
  local i = string.find(s, pat, 1, true)
  if not i then return nil end
  local j = i + #pat
  while string.sub(s, j, j):match("%s") do j = j + 1 end
  if string.sub(s, j, j) ~= '"' then return nil end
  local k, n = j + 1, #s
  while k <= n do
    local c = string.byte(s, k)
    if c == 92 then k = k + 2
    elseif c == 34 then return string.sub(s, j, k)
    else k = k + 1 end
  end
  return nil
end

local function allowed_methods(path)
  path = string.match(path, "^[^?]*")
  local seen, list = {}, {}
  for _, route in ipairs(CONFIG.routes) do
    if string.match(path, route[1]) then
      for m in string.gmatch(route[2], "[^, ]+") do
        if not seen[m] then seen[m] = true; list[#list + 1] = m end
      end
    end
  end
  if #list == 0 then return nil end
  table.sort(list)
  return table.concat(list, ", ")
end

-- Decodes a JSON string token (quotes included) into its text; \uXXXX becomes UTF-8.
local JSON_ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                       r = "\r", t = "\t" }

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
  return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40,
                     0x80 + cp % 0x40)
end

local function json_unquote(token)
  local s, out, i = string.sub(token, 2, -2), {}, 1
  while i <= #s do
    local j = string.find(s, "\\", i, true)
    if not j then out[#out + 1] = string.sub(s, i); break end
    out[#out + 1] = string.sub(s, i, j - 1)
    local c = string.sub(s, j + 1, j + 1)
    local hex = c == "u" and string.match(s, "^%x%x%x%x", j + 2)
    if hex then
      out[#out + 1] = utf8_char(tonumber(hex, 16))
      i = j + 6
    else
      out[#out + 1] = JSON_ESCAPES[c] or c
      i = j + 2
    end
  end
  return table.concat(out)
end

local function html_escape(s)
  return (string.gsub(s, '[<>&"]', { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;",
                                     ['"'] = "&quot;" }))
end

-- webob renders an error as HTML when text/html is the best of what the client accepts; JSON
-- only when the client asks for it at least as strongly.
local function wants_html(accept)
  if not accept then return false end
  local html, json = nil, nil
  for item in string.gmatch(string.lower(accept), "[^,]+") do
    local mtype = string.match(item, "^%s*([^;%s]+)")
    local q = tonumber(string.match(item, ";%s*q=([%d.]+)")) or 1
    if mtype == "text/html" then html = math.max(html or 0, q)
    elseif mtype == "application/json" or mtype == "application/*" then
      json = math.max(json or 0, q)
    end
  end
  return html ~= nil and html > 0 and (json == nil or html > json)
end

local function html_page(http, text)
  local status = http .. " " .. (REASONS[http] or "Error")
  return "<html>\n <head>\n  <title>" .. status .. "</title>\n </head>\n <body>\n  <h1>"
    .. status .. "</h1>\n  " .. html_escape(text) .. "<br /><br />\n\n\n\n </body>\n</html>"
end

-- A fault body in this listener's format; msg is an already-quoted JSON string.
local function fault_body(http, msg, code, request_id, retry_after)
  local fmt = CONFIG.fault_format
  if fmt == "placement" then
    return '{"errors":[{"status":' .. http .. ',"title":' .. json_quote(REASONS[http] or "Error")
      .. ',"detail":' .. msg .. ',"code":' .. json_quote(code or "placement.undefined_code")
      .. ',"request_id":' .. json_quote(request_id or "") .. '}]}'
  elseif fmt == "glance" then
    local reason = REASONS[http] or "Error"
    return '{"message":' .. msg .. ',"code":' .. json_quote(http .. " " .. reason)
      .. ',"title":' .. json_quote(reason) .. '}'
  end
  local name = FAULT_NAMES[http] or "computeFault"
  local extra = ""
  if retry_after and (http == 413 or http == 429) then
    extra = ',"retryAfter":' .. json_quote(retry_after)
  end
  return '{"' .. name .. '":{"code":' .. http .. ',"message":' .. msg .. extra .. '}}'
end

function envoy_on_request(rh)
  local h = rh:headers()
  local ct = h:get("content-type") or ""
  if starts_with(ct, "application/grpc") then return end
  local path = h:get(":path") or "/"
  local p, q = string.match(path, "^([^?]*)(.*)$")
  if CONFIG.strip_json then
    local bare = string.match(p, "^(.*)%.json$")
    if bare then p = bare end
  end
  if CONFIG.strip_project then
    h:remove("x-novamesh-path-project-id")           -- only the edge may set it
    local seg, rest = string.match(p, "^/v2%.1/([^/]+)(/.*)$")
    if seg and not CONFIG.collections[seg] then
      p = "/v2.1" .. rest
      h:replace("x-novamesh-path-project-id", seg)
    end
  end
  if p .. q ~= path then h:replace(":path", p .. q) end
  -- Remembered for the response hook, which cannot see request headers (405, request ids).
  rh:streamInfo():dynamicMetadata():set(META, "request", {
    method = h:get(":method") or "",
    path = p,
    request_id = h:get("x-request-id") or "",
    version = h:get("openstack-api-version") or "",
    html = CONFIG.html_errors and wants_html(h:get("accept")) or false,
    cors_headers = h:get("access-control-request-headers") or "",
  })
end

local function remembered(rh)
  local md = rh:streamInfo():dynamicMetadata():get(META)
  return md and md.request or {}
end

-- Placement names the requested microversion on every reply, errors included.
local function version_header(req)
  if CONFIG.version_header == nil then return nil end
  local service, wanted = string.match(req.version or "", "^%s*(%S+)%s+(%d+%.%d+)%s*$")
  if service == CONFIG.version_header[1] then return service .. " " .. wanted end
  return CONFIG.version_header[1] .. " " .. CONFIG.version_header[2]
end

local function on_success(rh, override)
  rh:headers():replace(":status", override)
  -- 201, 202 and 204 may come without a body; then they carry no content-type either.
  if override ~= "201" and override ~= "202" and override ~= "204" then return end
  local b = rh:body(true)
  local raw = b:getBytes(0, b:length())
  if override == "204" or raw == "" or raw == "{}" then
    if #raw > 0 then b:setBytes("") end
    local h = rh:headers()
    h:remove("content-type")
    if override == "204" then h:remove("content-length") else h:replace("content-length", "0") end
  end
end

local function on_error(rh, status, override, code, request_id, retry_after)
  local b = rh:body(true)
  local raw = b:getBytes(0, b:length())
  -- An error sent after initial metadata keeps its trailing metadata in trailers, which HTTP/1.1
  -- clients never see: read the helper values there, and strip what must not leak over HTTP/2.
  local t = rh:trailers()
  if t then
    override = override or t:get("x-http-status")
    code = code or t:get("x-error-code")
    request_id = request_id or t:get("x-openstack-request-id")
    retry_after = retry_after or t:get("retry-after")
    for _, name in ipairs(LEAKS) do t:remove(name) end
  end
  local req = remembered(rh)
  local http = tonumber(override)
  local msg
  local allow
  local unresolved = string.match(raw, "Could not resolve ([^%s\"]+) to a method")
  local grpc_code = tonumber(string.match(raw, '^%s*{%s*"code":%s*(%d+)'))
  if unresolved then
    -- The transcoder found no RPC for this method and path: 405 when another method would do.
    allow = allowed_methods(req.path or unresolved)
    if allow then
      http = 405
      msg = json_quote("The method " .. (req.method or "") .. " is not allowed for this resource.")
    else
      http = 404
      msg = json_quote("The resource could not be found.")
    end
  elseif grpc_code then
    http = http or GRPC_TO_HTTP[grpc_code] or 500
    msg = plain_escapes(json_string_token(raw, "message") or '""')
  elseif starts_with(raw, "{") then
    -- Already in this listener's format (local_reply_config, or the service rendered it).
    if http then rh:headers():replace(":status", tostring(http)) end
    if req.html then
      local detail = json_string_token(raw, "detail") or json_string_token(raw, "message")
      http = http or status
      b:setBytes(html_page(http, detail and json_unquote(detail) or REASONS[http] or "Error"))
      rh:headers():replace("content-type", "text/html; charset=UTF-8")
    end
    return
  else
    http = http or status
    msg = json_quote(raw ~= "" and raw or REASONS[http] or "Error")
  end
  if request_id == nil and req.request_id and req.request_id ~= "" then
    request_id = "req-" .. req.request_id
  end
  local h
  if req.html then
    b:setBytes(html_page(http, json_unquote(msg)))
    h = rh:headers()
    h:replace("content-type", "text/html; charset=UTF-8")
  else
    b:setBytes(fault_body(http, msg, code, request_id, retry_after))
    h = rh:headers()
    h:replace("content-type", "application/json")
  end
  h:replace(":status", tostring(http))
  if allow then h:replace("allow", allow) end
  if retry_after and h:get("retry-after") == nil then h:replace("retry-after", retry_after) end
  if request_id and h:get("x-openstack-request-id") == nil then
    h:replace("x-openstack-request-id", request_id)
  end
  local version = version_header(req)
  if version and h:get("openstack-api-version") == nil then
    h:replace("openstack-api-version", version)
    h:replace("vary", "openstack-api-version")
  end
end

-- Envoy's CORS filter answers a preflight with its whole allow list; oslo.middleware's cors
-- echoes the requested headers when each one is allowed and otherwise adds no CORS headers.
local function cors_preflight(h, requested)
  if CONFIG.cors_headers == nil or h:get("access-control-allow-origin") == nil then return end
  local names = {}
  for name in string.gmatch(requested, "[^,]+") do
    name = string.match(name, "^%s*(.-)%s*$")
    if name ~= "" then
      if not CONFIG.cors_headers[string.lower(name)] then
        for _, drop in ipairs({ "access-control-allow-origin", "access-control-allow-methods",
                                "access-control-allow-headers", "access-control-max-age",
                                "access-control-allow-credentials",
                                "access-control-expose-headers" }) do
          h:remove(drop)
        end
        return
      end
      names[#names + 1] = name
    end
  end
  if #names > 0 then h:replace("access-control-allow-headers", table.concat(names, ","))
  else h:remove("access-control-allow-headers") end
end

function envoy_on_response(rh)
  local h = rh:headers()
  local ct = h:get("content-type") or ""
  if starts_with(ct, "application/grpc") then return end
  if h:get("access-control-allow-headers") ~= nil then
    cors_preflight(h, remembered(rh).cors_headers or "")
  end
  local override = h:get("x-http-status")
  local code = h:get("x-error-code")
  local request_id = h:get("x-openstack-request-id")
  local retry_after = h:get("retry-after")
  local status = tonumber(h:get(":status")) or 200
  for _, name in ipairs(LEAKS) do h:remove(name) end
  local wanted = tonumber(override) or status
  if status < 400 and wanted < 400 then
    if override ~= nil then on_success(rh, override) end
    return
  end
  on_error(rh, status, override, code, request_id, retry_after)
end
