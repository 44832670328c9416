// The namespaces most files of the cluster use: actors, the domain they host, and the two kinds of plumbing every
// area repeats (entities and their Protobuf serialization). Anything a few files need stays in those files.
global using System.Collections.Immutable;
global using Akka.Actor;
global using Akka.WhatsApp.Cluster.Entities;
global using Akka.WhatsApp.Cluster.Serialization;
global using Akka.WhatsApp.Domain;
