# fetchModel's `network` option: checked, with defaults filled in, in the shape the
# spec carries (docs/spec.md). These settings change how bytes move, never which
# bytes: they are not part of the output, so changing them keeps the hash.
{ utils }:
let
  ctx = "fetchModel";
  known = [ "timeout" "retry" "bandwidth" "proxy" "concurrency" "xet" ];
  sub = name: keys: value: utils.checkKnownAttrs ctx "network.${name}." keys (utils.expect ctx "network.${name}" "an attribute set" "{ }" builtins.isAttrs value);
  isProxy = v: v == null || builtins.isAttrs v;
  isRate = v: v == null || (builtins.isString v && builtins.match "[0-9]+(\\.[0-9]+)?[kKmMgG]?" v != null);
in
network:
let
  n = utils.checkKnownAttrs ctx "network." known (utils.expect ctx "network" "an attribute set" "{ timeout.connect = 30; }" builtins.isAttrs network);
  timeout = sub "timeout" [ "connect" "read" "lowSpeedLimit" "lowSpeedTime" "total" ] (n.timeout or { });
  retry = sub "retry" [ "maxAttempts" "baseDelay" ] (n.retry or { });
  bandwidth = sub "bandwidth" [ "limit" ] (n.bandwidth or { });
  proxy = utils.expect ctx "network.proxy" "null or { http; https; noProxy; }" "{ https = \"http://proxy.example:3128\"; }" isProxy (n.proxy or null);
  proxyUrl = name: utils.expect ctx "network.proxy.${name}" "null or a proxy URL" "\"http://proxy.example:3128\"" (v: v == null || (builtins.isString v && builtins.match "[a-z]+://.+" v != null)) (proxy.${name} or null);
in
{
  timeout = {
    connect = utils.expect ctx "network.timeout.connect" "a positive number of seconds" "30" utils.isPositiveNumber (timeout.connect or 30);
    read = utils.expect ctx "network.timeout.read" "a positive number of seconds" "300" utils.isPositiveNumber (timeout.read or 300);
    # curl's --speed-limit/--speed-time, as Nix's own downloader uses them (there: 1 byte/s
    # over stalled-download-timeout): a connection averaging less is cut and retried.
    lowSpeedLimit = utils.expect ctx "network.timeout.lowSpeedLimit" "a number of bytes per second >= 0 (0 turns the limit off)" "1024" utils.isNonNegativeNumber (timeout.lowSpeedLimit or 1024);
    lowSpeedTime = utils.expect ctx "network.timeout.lowSpeedTime" "a positive number of seconds" "60" utils.isPositiveNumber (timeout.lowSpeedTime or 60);
    total = utils.expect ctx "network.timeout.total" "null (no deadline) or a positive number of seconds for the whole fetch" "3600" (v: v == null || utils.isPositiveNumber v) (timeout.total or null);
  };
  retry = {
    maxAttempts = utils.expect ctx "network.retry.maxAttempts" "a positive integer" "3" utils.isPositiveInt (retry.maxAttempts or 3);
    baseDelay = utils.expect ctx "network.retry.baseDelay" "a number of seconds >= 0" "2" utils.isNonNegativeNumber (retry.baseDelay or 2);
  };
  bandwidth.limit = utils.expect ctx "network.bandwidth.limit" "null or a rate in bytes per second with an optional K, M or G suffix" "\"50M\"" isRate (bandwidth.limit or null);
  proxy =
    if proxy == null then null
    else
      let p = utils.checkKnownAttrs ctx "network.proxy." [ "http" "https" "noProxy" ] proxy;
      in {
        http = proxyUrl "http";
        https = proxyUrl "https";
        noProxy = utils.expect ctx "network.proxy.noProxy" "null or a comma-separated host list" "\"localhost,.internal\"" utils.isStringOrNull (p.noProxy or null);
      };
  concurrency = utils.expect ctx "network.concurrency" "a positive integer (simultaneous connections)" "16" utils.isPositiveInt (n.concurrency or 16);
  # Xet storage (huggingface and git-xet sources): "auto" uses it where a file has Xet data,
  # "off" never, "required" fails a file that cannot come through Xet. docs/sources/xet.md.
  xet = utils.expect ctx "network.xet" ''one of "auto", "off", "required"'' ''"off"'' (v: builtins.elem v [ "auto" "off" "required" ]) (n.xet or "auto");
}
