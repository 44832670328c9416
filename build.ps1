# The Windows entry point: ./build.ps1 run | test | bench | pack | clean (same targets as build.sh).
# On Windows the test target cannot install PostgreSQL itself: start one and set WA_TEST_POSTGRES
# to an Npgsql connection string of a user who may create databases. The dashboard test needs chromedriver and
# Chromium: on the PATH, or WA_TEST_CHROMEDRIVER naming chromedriver.exe.
param([Parameter(Position = 0)][string]$Target = "", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
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
      Write-Error "build.ps1 test: set WA_TEST_POSTGRES to a PostgreSQL connection string (build.sh starts one by itself on Linux)"
      exit 1
    }
    dotnet build Akka.WhatsApp.sln -c Debug -nologo -v q
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    dotnet test Akka.WhatsApp.sln -c Debug --no-build -nologo --blame-hang-timeout 10m
    exit $LASTEXITCODE
  }
  "bench" { Write-Error "build.ps1 bench: run ./build.sh bench on Linux (it starts PostgreSQL itself)"; exit 2 }
  "pack" { dotnet publish src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -o artifacts/server -nologo; exit $LASTEXITCODE }
  "clean" {
    dotnet clean Akka.WhatsApp.sln -nologo -v q
    if (Test-Path artifacts) { Remove-Item -Recurse -Force artifacts }
    exit 0
  }
  default {
    Write-Host "usage: ./build.ps1 run | test | bench | pack | clean"
    exit 1
  }
}
