"""Web server configurations for a publish directory: nginx (with its njs module) and Apache (with mod_lua).

Both answer the IRIs the data uses with a 303 to the newest release's file the client asked for:
`<base>id/<kind>/<id>` (its page, Turtle, JSON-LD, N-Triples), `<base>ontology`, its version IRIs
`<base>ontology/<version>` and every `<base>vocab/…` concept and scheme (the ontology document,
which holds the vocabularies), `<base>graph/<name>` and `<base>dataset` (the VoID description),
`<base>catalog` (the DCAT catalogue) and `<base>dataset/<version>` (that release's catalogue). A
suffix (`….ttl`) picks the file without negotiation; unknown entities and suffixes are 404; an
`Accept` nothing offered matches is 406. Neither server can weigh `q`-values by configuration alone
(nginx has no content negotiation; Apache's MultiViews picks the smallest file on ties and cannot
answer 303), so the choice is a short script each, generated from one table of variants: the offered
variant with the highest `q` (an exact type beats `type/*`, which beats `*/*`), ties going to the
order offered (the page first, so browsers and `*/*` get HTML). tests/test_web_servers.py runs both,
from Debian's packages, in front of a real release.
"""

from __future__ import annotations

import json

from pledgegraph.model.formats import FORMATS

# Placeholders the administrator replaces: where the publish directory lies, and the port.
DIRECTORY = "/srv/pledgegraph/"
PORT = "80"
ENTITY_FORMATS = ("turtle", "jsonld", "ntriples")
ONTOLOGY_FORMATS = ("turtle", "jsonld", "rdfxml")


def variants(ontology_html: bool) -> dict[str, list[list[str]]]:
    """Per kind of IRI: [suffix, media type, file under the publish directory] in the order offered;
    `{stem}` is the entity's path below the release, `{version}` a release."""
    html = ["html", "text/html"]
    turtle = ["ttl", "text/turtle"]
    return {
        "entity": [html + ["latest/{stem}.html"]]
        + [[FORMATS[f].suffix[1:], FORMATS[f].media_type, "latest/{stem}" + FORMATS[f].suffix] for f in ENTITY_FORMATS],
        "ontology": ([html + ["latest/ontology/index.html"]] if ontology_html else [])
        + [
            [FORMATS[f].suffix[1:], FORMATS[f].media_type, "latest/ontology/pledgegraph" + FORMATS[f].suffix]
            for f in ONTOLOGY_FORMATS
        ],
        "void": [html + ["latest/index.html"], turtle + ["latest/void.ttl"]],
        "catalog": [html + ["latest/index.html"], turtle + ["latest/catalog.ttl"]],
        "release": [html + ["{version}/index.html"], turtle + ["{version}/catalog.ttl"]],
    }


def configs(
    root: str, ontology_html: bool, types: dict[str, str], vocab: list[str], versions: list[str]
) -> dict[str, bytes]:
    """`server/…` files: nginx.conf + negotiate.js, apache.conf + negotiate.lua, served at path `root`;
    `vocab` the paths below `vocab/` the ontology document describes, `versions` those below
    `ontology/` it names (its version IRIs); others are 404."""
    table = variants(ontology_html)
    described = [f"vocab/{path}" for path in vocab] + [f"ontology/{version}" for version in versions]
    return {
        "server/nginx.conf": _nginx(root, types).encode(),
        "server/negotiate.js": _JS.replace("@VARIANTS@", json.dumps(table, sort_keys=True))
        .replace("@VOCAB@", json.dumps({path: 1 for path in sorted(described)}))
        .encode(),
        "server/apache.conf": _apache(root, types).encode(),
        "server/negotiate.lua": _LUA.replace("@VARIANTS@", _lua_table(table))
        .replace("@VOCAB@", _lua_table({path: 1 for path in described}))
        .replace("@ROOT@", json.dumps(root))
        .encode(),
    }


def _lua_table(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {_lua_table(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(_lua_table(v) for v in value) + "}"
    return json.dumps(value)


def _compressible(types: dict[str, str]) -> list[str]:
    """The release's media types worth compressing on the fly (text and RDF; not the .gz dumps or images
    other than SVG)."""
    return sorted(
        {
            mt
            for mt in types.values()
            if mt.startswith("text/") or mt.endswith(("json", "xml", "triples", "quads", "trig"))
        }
    )


def _nginx(root: str, types: dict[str, str]) -> str:
    type_lines = "".join(f"            {mt} {ext};\n" for ext, mt in sorted(types.items()))
    return f"""# nginx: serve a pledgegraph publish directory (the OUTDIR of `pledgegraph publish`) at {root}
# Needs the njs module (Debian: libnginx-mod-http-js). Include this file inside `http {{ }}`.
# Replace {DIRECTORY} (the publish directory) and the port {PORT} with yours.
js_import pledgegraph from {DIRECTORY}latest/server/negotiate.js;

server {{
    listen {PORT};
    # files carry ETag and Last-Modified (nginx's defaults) and are compressed when the client accepts gzip
    gzip on;
    gzip_vary on;
    gzip_min_length 1024;
    gzip_types {" ".join(mt for mt in _compressible(types) if mt != "text/html")};
    # IRIs of the data -> 303 to the newest release's page or RDF file (negotiate.js)
    location ~ ^{root}(?<pledgegraph_iri>(id|ontology|vocab|graph|dataset|catalog)([/.].*)?)$ {{
        set $pledgegraph_dir {DIRECTORY};
        js_content pledgegraph.redirect;
    }}
    location = {root}.well-known/void {{
        alias {DIRECTORY}.well-known/void;
        default_type text/turtle;
    }}
    location {root} {{
        alias {DIRECTORY};
        types {{
{type_lines}        }}
        default_type application/octet-stream;
    }}
}}
"""


def _apache(root: str, types: dict[str, str]) -> str:
    type_lines = "".join(f"    AddType {mt} .{ext}\n" for ext, mt in sorted(types.items()))
    return f"""# Apache 2.4: serve a pledgegraph publish directory (the OUTDIR of `pledgegraph publish`) at {root}
# Needs mod_alias, mod_mime, mod_dir, mod_lua (Debian: a2enmod lua), and for gzip mod_deflate with
# mod_filter (Debian's defaults). Files carry ETag and Last-Modified (Apache's defaults). Include this
# file in a <VirtualHost> (or the server config); replace {DIRECTORY} (the publish directory).
# IRIs of the data -> 303 to the newest release's page or RDF file (negotiate.lua)
LuaMapHandler "^{root}((id|ontology|vocab|graph|dataset|catalog)([/.].*)?)$" {DIRECTORY}latest/server/negotiate.lua redirect
Alias {root} {DIRECTORY}
<Directory {DIRECTORY}>
    Options FollowSymLinks
    AllowOverride None
    Require all granted
    RemoveEncoding .gz
{type_lines}</Directory>
<Location {root}.well-known/void>
    ForceType text/turtle
</Location>
<IfModule mod_deflate.c>
    <Location {root}>
        AddOutputFilterByType DEFLATE {" ".join(_compressible(types))}
    </Location>
    # Apache's "-gzip" ETag suffix never matches If-None-Match (no 304 for gzip clients): the file's
    # ETag is kept, and caches tell the encodings apart by Vary: Accept-Encoding
    DeflateAlterETag NoChange
</IfModule>
"""  # noqa: E501  (Apache directives are one a line)


_JS = r"""// Content negotiation for pledgegraph IRIs (nginx njs): written by `pledgegraph publish`.
// Plain ES5 with njs's fs module: the njs of Debian 12 (0.7.9) knows no destructuring.
import fs from 'fs';

var VARIANTS = @VARIANTS@;
var VOCAB = @VOCAB@;  // vocab/… concept schemes and concepts, ontology/… versions: the ontology document
var SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
var VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;

// {kind, stem, version, suffix} for a path below the site root, or null (404).
function route(path) {
    var parts = path.split('/');
    var last = parts[parts.length - 1];
    var dot = last.indexOf('.');
    var name = dot < 0 ? last : last.slice(0, dot);
    var suffix = dot < 0 ? null : last.slice(dot + 1);
    if (parts[0] === 'id' && parts.length === 3 && /^[a-z]+$/.test(parts[1]) && SLUG.test(name)) {
        return {kind: 'entity', stem: parts[1] + '/' + name, suffix: suffix};
    }
    if (path === 'ontology' || path.indexOf('ontology.') === 0) return {kind: 'ontology', suffix: suffix};
    if (VOCAB[path] === 1) return {kind: 'ontology', suffix: null};
    if (parts[0] === 'graph' && parts.length === 2 && SLUG.test(parts[1])) return {kind: 'void', suffix: null};
    if (path === 'dataset') return {kind: 'void', suffix: null};
    if (path === 'catalog') return {kind: 'catalog', suffix: null};
    if (parts[0] === 'dataset' && parts.length === 2 && VERSION.test(parts[1])) {
        return {kind: 'release', version: parts[1], suffix: null};
    }
    return null;
}

// The media ranges of an Accept header: [type, q] (no header: */*).
function ranges(accept) {
    var out = [];
    (accept || '*/*').split(',').forEach(function (part) {
        var params = part.split(';');
        var q = 1, i, m;
        for (i = 1; i < params.length; i++) {
            m = params[i].trim().match(/^q\s*=\s*([0-9.]+)$/i);
            if (m) q = Math.min(1, parseFloat(m[1]) || 0);
        }
        var range = params[0].trim().toLowerCase();
        if (range) out.push([range, q]);
    });
    return out;
}

// q of a media type: from the most specific range that matches it (0 if none).
function quality(type, accepted) {
    var best = -1, q = 0, i, range, rank;
    for (i = 0; i < accepted.length; i++) {
        range = accepted[i][0];
        rank = range === type ? 2 : range === type.split('/')[0] + '/*' ? 1 : range === '*/*' ? 0 : -1;
        if (rank > best) { best = rank; q = accepted[i][1]; }
    }
    return q;
}

function fill(template, found) {
    return template.replace('{stem}', found.stem || '').replace('{version}', found.version || '');
}

function redirect(r) {
    var found = route(r.variables.pledgegraph_iri);
    var offered, chosen = null, i, q, bestQ = 0, accepted;
    r.headersOut['Vary'] = 'Accept';
    if (!found) { r.return(404, 'not found\n'); return; }
    offered = VARIANTS[found.kind];
    try { fs.accessSync(r.variables.pledgegraph_dir + fill(offered[offered.length - 1][2], found)); }
    catch (e) { r.return(404, 'not found\n'); return; }
    if (found.suffix !== null) {
        for (i = 0; i < offered.length; i++) if (offered[i][0] === found.suffix) chosen = offered[i];
        if (!chosen) { r.return(404, 'not found\n'); return; }
    } else {
        accepted = ranges(r.headersIn['Accept']);
        for (i = 0; i < offered.length; i++) {
            q = quality(offered[i][1], accepted);
            if (q > bestQ) { bestQ = q; chosen = offered[i]; }
        }
        if (!chosen) {
            r.headersOut['Content-Type'] = 'text/plain';
            r.return(406, 'not acceptable: this IRI is available as '
                     + offered.map(function (v) { return v[1]; }).join(', ') + '\n');
            return;
        }
    }
    r.return(303, r.uri.slice(0, r.uri.length - r.variables.pledgegraph_iri.length) + fill(chosen[2], found));
}

export default {redirect: redirect};
"""

_LUA = r"""-- Content negotiation for pledgegraph IRIs (Apache mod_lua): written by `pledgegraph publish`.
local VARIANTS = @VARIANTS@
local VOCAB = @VOCAB@  -- vocab/… concept schemes and concepts, ontology/… versions: the ontology document

local ROOT = @ROOT@
-- the publish directory: where this script lies, less latest/server/
local DIRECTORY = debug.getinfo(1, "S").source:match("^@(.*/)latest/server/[^/]*$")

local function slug(s)
  return s:match("^[a-z0-9][a-z0-9-]*$") ~= nil and s:sub(-1) ~= "-" and not s:find("--", 1, true)
end

local function split(path)
  local parts = {}
  for p in (path .. "/"):gmatch("([^/]*)/") do parts[#parts + 1] = p end
  return parts
end

-- kind, {stem=, version=}, suffix (or nil) for a path below the site root; nil for 404
local function route(path)
  local parts = split(path)
  local last = parts[#parts]
  local name, suffix = last:match("^([^.]*)%.(.*)$")
  if not name then name = last end
  if parts[1] == "id" and #parts == 3 and parts[2]:match("^[a-z]+$") and slug(name) then
    return "entity", {stem = parts[2] .. "/" .. name}, suffix
  end
  if path == "ontology" or path:sub(1, 9) == "ontology." then return "ontology", {}, suffix end
  if VOCAB[path] then return "ontology", {}, nil end
  if parts[1] == "graph" and #parts == 2 and slug(parts[2]) then return "void", {}, nil end
  if path == "dataset" then return "void", {}, nil end
  if path == "catalog" then return "catalog", {}, nil end
  if parts[1] == "dataset" and #parts == 2 and parts[2]:match("^[0-9A-Za-z][0-9A-Za-z.+_-]*$") then
    return "release", {version = parts[2]}, nil
  end
  return nil
end

-- the media ranges of an Accept header: {type, q} (no header: */*)
local function ranges(accept)
  local out = {}
  for part in ((accept or "*/*") .. ","):gmatch("([^,]*),") do
    local range = (part:match("^%s*([^;%s]*)") or ""):lower()
    local q = 1
    for name, value in part:gmatch(";%s*([^=;%s]+)%s*=%s*([^;%s]*)") do
      if name:lower() == "q" then q = math.min(1, tonumber(value) or 0) end
    end
    if range ~= "" then out[#out + 1] = {range, q} end
  end
  return out
end

-- q of a media type: from the most specific range that matches it (0 if none)
local function quality(mtype, accepted)
  local best, q = -1, 0
  local major = mtype:match("^([^/]*)/")
  for _, r in ipairs(accepted) do
    local rank = (r[1] == mtype and 2) or (r[1] == major .. "/*" and 1) or (r[1] == "*/*" and 0) or -1
    if rank > best then best, q = rank, r[2] end
  end
  return q
end

local function fill(template, values)
  return (template:gsub("{stem}", values.stem or ""):gsub("{version}", values.version or ""))
end

local function refuse(r, status, text)
  r.status = status
  r.content_type = "text/plain"
  r:puts(text)
  return apache2.OK
end

function redirect(r)
  r.err_headers_out["Vary"] = "Accept"
  if r.uri:sub(1, #ROOT) ~= ROOT then return refuse(r, 404, "not found\n") end
  local iri = r.uri:sub(#ROOT + 1)
  local kind, values, suffix = route(iri)
  if not kind then return refuse(r, 404, "not found\n") end
  local offered = VARIANTS[kind]
  local check = io.open(DIRECTORY .. fill(offered[#offered][3], values), "r")
  if not check then return refuse(r, 404, "not found\n") end
  check:close()
  local chosen = nil
  if suffix then
    for _, v in ipairs(offered) do if v[1] == suffix then chosen = v end end
    if not chosen then return refuse(r, 404, "not found\n") end
  else
    local accepted, best = ranges(r.headers_in["Accept"]), 0
    for _, v in ipairs(offered) do
      local q = quality(v[2], accepted)
      if q > best then best, chosen = q, v end
    end
    if not chosen then
      local types = {}
      for _, v in ipairs(offered) do types[#types + 1] = v[2] end
      return refuse(r, 406, "not acceptable: this IRI is available as " .. table.concat(types, ", ") .. "\n")
    end
  end
  r.err_headers_out["Location"] = ROOT .. fill(chosen[3], values)
  return 303
end
"""
