package readme

// The packages the README's snippets use, so that this module requires them (go mod tidy keeps
// what some non-test file imports).
import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	_ "github.com/redis/go-redis/v9"
	_ "golang.org/x/oauth2"

	_ "github.com/entrakit/entrakit/azsdk"
	_ "github.com/entrakit/entrakit/cache"
	_ "github.com/entrakit/entrakit/credential"
	_ "github.com/entrakit/entrakit/httptest_fixtures"
	_ "github.com/entrakit/entrakit/keyring"
	_ "github.com/entrakit/entrakit/redisstore"
	_ "github.com/entrakit/entrakit/signin"
)
