// Starts `pledgegraph lsp` in the workspace folder for the YAML files under data/.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const config = vscode.workspace.getConfiguration("pledgegraph");
  const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const server = { command: config.get("command"), args: ["lsp", ...config.get("args")], options: { cwd: folder } };
  client = new LanguageClient("pledgegraph", "pledgegraph", server, {
    documentSelector: [{ scheme: "file", language: "yaml", pattern: "**/data/**/*.{yaml,yml}" }],
  });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
