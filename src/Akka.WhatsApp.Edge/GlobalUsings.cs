// The namespaces nearly every file of the edge uses: the wire (Protocol), the domain it maps to, the actors it asks,
// and its own sessions and backend. Anything a few files need stays in those files.
global using System.Collections.Immutable;
global using Akka.Actor;
global using Akka.WhatsApp.Domain;
global using Akka.WhatsApp.Domain.Accounts;
global using Akka.WhatsApp.Edge.Backend;
global using Akka.WhatsApp.Edge.Sessions;
global using Akka.WhatsApp.Protocol;
