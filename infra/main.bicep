// Drydock in one resource group: storage (queues, tables, blobs), a Linux Python 3.11
// Function App on Flex Consumption, Application Insights on Log Analytics, a
// container registry, a Key Vault for the two shared secrets, and one
// user-assigned identity for the Function App and one for the builders, each
// with only the roles it uses.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.parameters.json
//
// Secrets never pass through this template: DRYDOCK_API_KEY and
// DRYDOCK_WEBHOOK_SECRET are set in the vault afterwards (docs/deploy.md) and the
// app reads them through Key Vault references. Nothing secret is output.

targetScope = 'resourceGroup'

@description('Prefix of every resource name (lowercase letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'drydock'

@description('Region of every resource; the resource group\'s by default. Flex Consumption runs in a subset of regions.')
param location string = resourceGroup().location

@description('How code reaches storage. "connectionString": the Function App and the builders get AzureWebJobsStorage, an account-key connection string kept in Key Vault (what the code supports today). "identity": AzureWebJobsStorage__accountName with the managed identities and shared-key access disabled on the account (needs the code change described in docs/deploy.md).')
@allowed([
  'connectionString'
  'identity'
])
param storageAuthentication string = 'connectionString'

@description('Default registry login server (DRYDOCK_REGISTRY). Empty: the registry this template creates.')
param registryLoginServer string = ''

@description('SKU of the container registry. Premium adds private endpoints, geo-replication and retention policies.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param registrySku string = 'Standard'

@description('DRYDOCK_BASE_IMAGE_POLL_SCHEDULE: NCRONTAB of the base-image poll.')
param baseImagePollSchedule string = '0 */5 * * * *'

@description('DRYDOCK_RETENTION_SCHEDULE: NCRONTAB of log retention.')
param retentionSchedule string = '0 0 3 * * *'

@description('DRYDOCK_LOG_RETENTION_DAYS: days a finished run and its log are kept unless archived.')
param logRetentionDays string = '30'

@description('DRYDOCK_ALLOW_PRIVATE_NETWORKS: allow contexts, notification targets and registries on private addresses. Keep false unless builds must reach a private network.')
@allowed([
  'true'
  'false'
])
param allowPrivateNetworks string = 'false'

@description('DRYDOCK_BUILDER_CONCURRENCY: runs one builder process works on at once (a setting of the builders; kept on the app too so every DRYDOCK_* setting has one home).')
param builderConcurrency string = '2'

@description('DRYDOCK_BUILDER_LEASE_SECONDS: how long a builder\'s hold on a run lasts without renewal (a setting of the builders).')
param builderLeaseSeconds string = '60'

@description('DRYDOCK_ALLOW_PRIVILEGED: let cmd steps with privileged: true run. A privileged container owns the engine\'s host and every other run on it: keep false unless each run has an engine of its own.')
@allowed([
  'true'
  'false'
])
param allowPrivileged string = 'false'

@description('DRYDOCK_BUILDER_IDLE_POLL_MS: longest wait between queue polls of an idle builder (ms). Each poll is a storage transaction: 100 ms is about 0.9 M a day per idle builder.')
param builderIdlePollMs string = '100'

@description('Largest number of Function App instances.')
param maximumInstanceCount int = 40

@description('OIDC issuer URL of an AKS cluster that runs builders (az aks show --query oidcIssuerProfile.issuerUrl). Empty: no federated credentials.')
param aksOidcIssuerUrl string = ''

@description('Kubernetes namespace and service account of the builder jobs (infra/k8s).')
param builderServiceAccountSubject string = 'system:serviceaccount:drydock:drydock-builder'

@description('Kubernetes service account of the KEDA operator, which reads the queue length with the builder identity.')
param kedaServiceAccountSubject string = 'system:serviceaccount:keda:keda-operator'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageName = take('${namePrefix}${suffix}', 24)
var registryName = take('${namePrefix}${suffix}', 50)
var vaultName = take('${namePrefix}-${suffix}', 24)
var appName = '${namePrefix}-${suffix}'
var deploymentContainer = 'app-package'
var useIdentity = storageAuthentication == 'identity'
var effectiveRegistry = empty(registryLoginServer) ? registry.properties.loginServer : registryLoginServer

// Built-in role definition ids (the same in every tenant).
var roles = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------- identities

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-functions-id'
  location: location
}

resource builderIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-builder-id'
  location: location
}

resource builderFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (!empty(aksOidcIssuerUrl)) {
  parent: builderIdentity
  name: 'aks-builder'
  properties: {
    issuer: aksOidcIssuerUrl
    subject: builderServiceAccountSubject
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

// Federated credentials of one identity are created one at a time.
resource kedaFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (!empty(aksOidcIssuerUrl)) {
  parent: builderIdentity
  name: 'aks-keda-operator'
  dependsOn: [
    builderFederation
  ]
  properties: {
    issuer: aksOidcIssuerUrl
    subject: kedaServiceAccountSubject
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

// ---------------------------------------------------------------- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry is sent with the Function App's identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:Default action Allow: Flex Consumption without VNet integration and builders on arbitrary hosts reach the account over its public endpoint; every request is authenticated (Entra ID or key). Restrict with VNet integration + private endpoints where the builders run in a VNet.
  //checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: public network access is how the serverless app and the builders reach the account.
  //checkov:skip=CKV_AZURE_43:The name is take(prefix + uniqueString(), 24): 3-24 lowercase letters and digits, but checkov cannot evaluate the expression.
  //checkov:skip=CKV_AZURE_206:Locally redundant is enough: queues and run records are transient and logs are retained for days; choose Standard_ZRS/GRS by editing sku if runs must survive a zone loss.
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Account keys only while the code still builds clients from a connection string.
    allowSharedKeyAccess: !useIdentity
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

// Where Flex Consumption keeps the deployed package (func azure functionapp publish).
resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The queues of the contract; created here too so KEDA can watch build-requests
// before the first run is submitted. Tables and blob containers are created by
// the code on first use.
resource buildRequestsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'build-requests'
}

resource runEventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'run-events'
}

resource storageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logs.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------- registry

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  //checkov:skip=CKV_AZURE_139:Public endpoint: build hosts and the Function App push and poll over the internet, authenticated with Entra ID; private endpoints need Premium and a VNet.
  //checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, enabled per subscription, not a property of the registry.
  //checkov:skip=CKV_AZURE_166:Quarantine would hold every pushed image until a scanner releases it; Drydock pushes images for immediate use.
  //checkov:skip=CKV_AZURE_233:Zone redundancy needs Premium; optional (registrySku).
  name: registryName
  location: location
  sku: {
    name: registrySku
  }
  properties: {
    // Pushes and pulls with Entra ID tokens only.
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

// ---------------------------------------------------------------- key vault

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109:Default action Allow: App Service resolves Key Vault references over the public endpoint unless the app is VNet-integrated; access is Entra ID + RBAC only.
  //checkov:skip=CKV_AZURE_189:Public network access: see CKV_AZURE_109.
  name: vaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Only in connectionString mode; the value never leaves Azure Resource Manager
// (no output), and the builders read it from here too.
resource storageConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!useIdentity) {
  //checkov:skip=CKV_AZURE_114:contentType is set below; checkov does not read the properties of a conditional (if) resource (verified: the check passes on the same resource without the condition).
  //checkov:skip=CKV_AZURE_41:No expiry: an expired secret would stop the app and the builders; the value is rewritten at every deployment, and rotating the account key (az storage account keys renew, then redeploy) rotates it.
  parent: vault
  name: 'storage-connection-string'
  properties: {
    contentType: 'text/plain'
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy of Flex Consumption plans exists only in some regions; the functions keep no state of their own (it is all in storage), so a zone loss delays webhooks, it loses nothing.
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

var kv = 'https://${vault.name}${environment().suffixes.keyvaultDns}/secrets'
var identityStorageSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: functionIdentity.properties.clientId
  }
]
var connectionStringStorageSettings = [
  {
    name: 'AzureWebJobsStorage'
    value: '@Microsoft.KeyVault(SecretUri=${kv}/storage-connection-string/)'
  }
]
var storageSettings = useIdentity ? identityStorageSettings : connectionStringStorageSettings

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_17:Client certificates would break the Git hosts' webhooks and the CLI; REST calls carry the host key, webhooks their HMAC signature.
  //checkov:skip=CKV_AZURE_222:Public network access: GitHub, GitLab and Gitea must reach /api/webhooks/*, and users the REST API (host key required).
  //checkov:skip=CKV_AZURE_213:Flex Consumption replaces unhealthy instances itself; GET /api/health (anonymous) is there for external availability tests.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales per instance count (maximumInstanceCount); there is no worker count to set.
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${functionIdentity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    // Key Vault references are resolved with the app's user-assigned identity.
    keyVaultReferenceIdentity: functionIdentity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: functionIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(storageSettings, [
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: insights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${functionIdentity.properties.clientId};Authorization=AAD'
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: functionIdentity.properties.clientId
        }
        {
          name: 'DRYDOCK_REGISTRY'
          value: effectiveRegistry
        }
        {
          name: 'DRYDOCK_API_KEY'
          value: '@Microsoft.KeyVault(SecretUri=${kv}/drydock-api-key/)'
        }
        {
          name: 'DRYDOCK_WEBHOOK_SECRET'
          value: '@Microsoft.KeyVault(SecretUri=${kv}/drydock-webhook-secret/)'
        }
        {
          name: 'DRYDOCK_BASE_IMAGE_POLL_SCHEDULE'
          value: baseImagePollSchedule
        }
        {
          name: 'DRYDOCK_RETENTION_SCHEDULE'
          value: retentionSchedule
        }
        {
          name: 'DRYDOCK_LOG_RETENTION_DAYS'
          value: logRetentionDays
        }
        {
          name: 'DRYDOCK_ALLOW_PRIVATE_NETWORKS'
          value: allowPrivateNetworks
        }
        {
          name: 'DRYDOCK_BUILDER_CONCURRENCY'
          value: builderConcurrency
        }
        {
          name: 'DRYDOCK_BUILDER_LEASE_SECONDS'
          value: builderLeaseSeconds
        }
        {
          name: 'DRYDOCK_ALLOW_PRIVILEGED'
          value: allowPrivileged
        }
        {
          name: 'DRYDOCK_BUILDER_IDLE_POLL_MS'
          value: builderIdlePollMs
        }
      ])
    }
  }
  dependsOn: [
    functionBlobOwner
    functionQueueContributor
    functionTableContributor
    functionSecretsUser
  ]
}

// ---------------------------------------------------------------- role assignments
// Function App: the Functions host keeps its keys, leases and timer state in
// blobs (Blob Data Owner, as the host's identity-based connection requires),
// runs the run-events queue trigger and enqueues builds (Queue Data
// Contributor), and the code keeps runs in tables (Table Data Contributor).

resource functionBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionIdentity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionIdentity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionIdentity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The app reads DRYDOCK_API_KEY, DRYDOCK_WEBHOOK_SECRET (and the storage
// connection string) through Key Vault references.
resource functionSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionIdentity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The base-image poll reads manifests of the images Drydock built.
resource functionAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, functionIdentity.id, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, functionIdentity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Builders: take and report runs (queues), update run records (tables), append
// logs and read uploaded contexts (Blob Data Contributor: no need for Owner),
// push images (AcrPush includes pull), and in connectionString mode read that one
// secret, not the whole vault.

resource builderBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, builderIdentity.id, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: builderIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource builderQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, builderIdentity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: builderIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource builderTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, builderIdentity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: builderIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource builderAcrPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, builderIdentity.id, roles.acrPush)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPush)
    principalId: builderIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource builderSecretUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useIdentity) {
  name: guid(vault.id, 'storage-connection-string', builderIdentity.id, roles.keyVaultSecretsUser)
  scope: storageConnectionSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: builderIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------- outputs (names and ids only)

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output registryName string = registry.name
output registryLoginServer string = registry.properties.loginServer
output keyVaultName string = vault.name
output storageAccountName string = storage.name
output builderIdentityClientId string = builderIdentity.properties.clientId
output builderIdentityResourceId string = builderIdentity.id
output functionIdentityClientId string = functionIdentity.properties.clientId
output tenantId string = subscription().tenantId
