# The Windows entry point: ./build.ps1 run | test | bench | pack | clean (same targets as build.sh).
# On Windows the test target cannot install PostgreSQL itself: start one and set WA_TEST_POSTGRES
# to an Npgsql connection string of a user who may create databases. The dashboard test needs chromedriver and
# Chromium: on the PATH, or WA_TEST_CHROMEDRIVER naming chromedriver.exe.
param([Parameter(Position = 0)][string]$Target = "", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
# A message on stderr and an exit code: Write-Error would throw under "Stop" before the exit code is set.
function Fail([string]$Message, [int]$Code) { [Console]::Error.WriteLine($Message); exit $Code }
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) { throw "build.ps1: the .NET 10 SDK (dotnet) is required" }

switch ($Target) {
  "run" {
    dotnet build src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -nologo -v q
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    dotnet src/Akka.WhatsApp.Host/bin/Release/net10.0/Akka.WhatsApp.Host.dll @Rest
    exit $LASTEXITCODE
  }
  "test" {
    if (-not $env:WA_TEST_POSTGRES) {
      Fail "build.ps1 test: set WA_TEST_POSTGRES to a PostgreSQL connection string (build.sh starts one by itself on Linux)" 1
    }
    dotnet build Akka.WhatsApp.sln -c Debug -nologo -v q
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    dotnet test Akka.WhatsApp.sln -c Debug --no-build -nologo --blame-hang-timeout 10m
    exit $LASTEXITCODE
  }
  "bench" { Fail "build.ps1 bench: run ./build.sh bench on Linux (it starts PostgreSQL itself)" 2 }
  "pack" {
    # For one runtime (this machine's, or the RID given: ./build.ps1 pack linux-x64), not the native assets of every platform.
    [string[]]$runtime = if ($Rest.Count -gt 0) { @("-r", $Rest[0]) } else { @("--use-current-runtime") }
    dotnet publish src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release @runtime --self-contained false -o artifacts/server -nologo
    exit $LASTEXITCODE
  }
  "clean" {
    dotnet clean Akka.WhatsApp.sln -nologo -v q
    if (Test-Path artifacts) { Remove-Item -Recurse -Force artifacts }
    Get-ChildItem -Path src, tests -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
    exit 0
  }
  default {
    Write-Host "usage: ./build.ps1 run | test | bench | pack | clean"
    exit 1
  }
}
